"""Call-level offline RL on the embedded planner, adapted from d3rlpy's algorithms.

The datasets reward every call (the judge's score change, :mod:`offline_data.generate`); the
paper's methods weight whole trajectories by their final ``r``. A call-level method fits a
critic on the per-step rewards (:mod:`.critic`: ``Q(s, a)`` over the factorized hybrid call and
``V(s)``), scores every dataset call by its advantage ``A(s, a) = Q(s, a) - V(s)`` and trains the
planner on each call with a weight of its advantage:

- ``iql`` (:mod:`.iql`): expectile ``V``, IQL's ``exp(beta A)`` weights (d3rlpy's defaults);
- ``cql-planner`` (:mod:`.cql`): a conservative ``Q`` (DiscreteCQL's ``logsumexp`` penalty over the
  discrete part of the call), extracted with the same weights;
- ``awac`` (:mod:`.awac`): a critic of the dataset's behaviour, AWAC's batch-softmax weights.

The losses are in :mod:`.losses` (each pinned to d3rlpy's own function by the tests), the two
training stages in :mod:`.training`, the step-level diagnostics (do mistaken calls get lower
advantages than correct ones?) in :mod:`.diagnostics`, the registry entry in :mod:`.method`.
"""

from .awac import AWACConfig
from .config import CallLevelConfig, MissingRewardsError, UnsupportedPolicyError
from .cql import CQLConfig
from .critic import N_CALLS, CallCritic, CriticMismatchError, call_index, load_critic
from .iql import IQLConfig

__all__ = [
    "N_CALLS",
    "AWACConfig",
    "CQLConfig",
    "CallCritic",
    "CallLevelConfig",
    "CriticMismatchError",
    "IQLConfig",
    "MissingRewardsError",
    "UnsupportedPolicyError",
    "call_index",
    "load_critic",
]
