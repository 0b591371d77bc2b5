"""The settings every call-level method shares (:class:`CallLevelConfig`) and the named errors
raised before any training starts."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.config import Config
from agents.embedded.config import PlannerConfig
from agents.embedded.training import TrainConfig
from styling_env.validation import positive_float, positive_int, real_in

__all__ = [
    "POLICIES",
    "CallLevelConfig",
    "MissingRewardsError",
    "UnsupportedPolicyError",
]

#: Trajectory-level weights a call-level method can multiply its per-call weights with
#: (:attr:`CallLevelConfig.trajectory`; the paper's ``s``, ``rl``, ``rw``).
TRAJECTORY_WEIGHTS = ("s", "rl", "rw")
#: The policies a call-level method trains. The critic's advantages are per-call weights, so
#: any policy with a per-call likelihood could take them; only the embedded planner does here.
POLICIES = ("embedded",)
#: Policies of this project that a call-level method does not train (named in the error).
OTHER_POLICIES = {
    "qwen3vl": "the Qwen3-VL planner is trained by agents.qwen (its methods are s, rl, rw, sw, dpo)",
    "qwen3vl-text": "the Qwen3-VL planner is trained by agents.qwen (its methods are s, rl, rw, sw, dpo)",
    "endpoint": "a chat endpoint has no weights to train",
    "d3rlpy": "d3rlpy's agents act over the flat action with their own encoder, not the factorized call",
    "sb3": "stable-baselines3's agents learn online, not from a dataset's calls",
}


class UnsupportedPolicyError(ValueError):
    """A call-level method asked to train a policy it cannot train."""


class MissingRewardsError(ValueError):
    """A dataset whose steps carry no usable per-step reward (a critic has nothing to fit)."""


@dataclass(frozen=True)
class CallLevelConfig(Config):
    """What IQL, CQL and AWAC on the embedded planner share: the critic's fit (d3rlpy's
    ``gamma``, ``tau``, ``n_critics`` and a learning rate) and the planner's policy extraction
    (:class:`~agents.embedded.TrainConfig`, the architecture :class:`PlannerConfig`)."""

    policy: str = "embedded"
    """The policy the advantages train: ``"embedded"`` (the only one supported)."""
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    """The planner's architecture; the critic's encoder reads the same inputs."""
    training: TrainConfig = field(default_factory=TrainConfig)
    """Policy extraction: ``steps`` (default ``epochs`` passes, 10), ``batch_size``, ``lr``
    (default 1e-3), ... as for the paper's methods."""
    gamma: float = 0.99
    """Discount factor (d3rlpy's default)."""
    tau: float = 0.005
    """Target network synchronization coefficient (d3rlpy's default)."""
    n_critics: int = 2
    """Q functions in the ensemble; targets and advantages take their minimum."""
    critic_lr: float = 3e-4
    """Adam's learning rate for the critic (d3rlpy's IQL and AWAC default)."""
    critic_steps: int | None = None
    """Critic updates; default ``critic_epochs`` passes over the rows."""
    critic_epochs: int = 20
    critic_batch_size: int = 256
    trajectory: str = "s"
    """A trajectory-level weight that multiplies each call's: ``"s"`` (none, the default),
    ``"rl"`` (only calls of trajectories with ``r >= 4``) or ``"rw"`` (the call's weight times
    its trajectory's ``max(r - 3, 0)``, normalized to mean 1 over the minibatch): the
    advantage says which calls of a trajectory to trust, the trajectory's ``r`` how good the
    whole plan was. Measured with AWAC on the 10K Simple tier (seed 0): ``"rw"`` 60.8 against
    69.2 with ``"s"`` (the product concentrates each minibatch on few calls)."""
    critic_images: bool = False
    """The critic reads the pixels too (the planner's CNN). Off by default: the critic reads the
    instruction, the Stage-1 context (the env's estimate of what the image already shows), the
    history and the steps left, which is what a call's value depends on in these tasks; the CNN
    made each critic update 2.8x as slow (0.62 against 0.22 s per update of 256 at 1 thread)."""
    critic: str | None = None
    """A saved critic (``critic.pt`` of an earlier run on the same dataset) to reuse instead of
    fitting one; a critic of another dataset is a :class:`~.critic.CriticMismatchError`."""

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            why = OTHER_POLICIES.get(self.policy, f"known policies: {', '.join(POLICIES)}")
            raise UnsupportedPolicyError(
                f"{type(self).__name__} trains the embedded planner; policy {self.policy!r} is "
                f"not supported ({why})"
            )
        if not isinstance(self.planner, PlannerConfig):
            raise ValueError(f"planner must be a PlannerConfig, got {type(self.planner).__name__}")
        if not isinstance(self.training, TrainConfig):
            raise ValueError(f"training must be a TrainConfig, got {type(self.training).__name__}")
        if self.training.counterfactuals:
            raise ValueError(
                "training.counterfactuals is for S, RL, RW and SW: a call-level method weights "
                "each dataset call by its critic's advantage, which a counterfactual row does "
                "not have (set training.counterfactuals=0)"
            )
        real_in("gamma", self.gamma, 0.0, 1.0)  # a number, not "0.99" (float() took it)
        if real_in("tau", self.tau, 0.0, 1.0) == 0.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau!r}")
        positive_int("n_critics", self.n_critics)
        positive_float("critic_lr", self.critic_lr)
        if self.critic_steps is not None:
            positive_int("critic_steps", self.critic_steps)
        positive_int("critic_epochs", self.critic_epochs)
        positive_int("critic_batch_size", self.critic_batch_size)
        if self.trajectory not in TRAJECTORY_WEIGHTS:
            raise ValueError(
                f"trajectory must be one of {', '.join(TRAJECTORY_WEIGHTS)}, got {self.trajectory!r}"
            )
        if not isinstance(self.critic_images, bool):
            raise ValueError(f"critic_images must be True or False, got {self.critic_images!r}")
        if self.critic is not None and not isinstance(self.critic, str):
            raise ValueError(f"critic must be a path (str) or None, got {self.critic!r}")

    def critic_planner(self) -> PlannerConfig:
        """The critic encoder's inputs: the planner's, without the images unless
        :attr:`critic_images` (a critic without images reads no pixel statistics either)."""
        text_only = self.planner.text_only or not self.critic_images
        return self.planner.replace(
            text_only=text_only, pixel_stats=self.planner.pixel_stats and not text_only
        )

    def with_steps(self, steps: int):  # noqa: ANN201 - the subclass's own type
        """The same run with ``steps`` critic updates and ``steps`` policy steps (a benchmark
        budget)."""
        return self.replace(critic_steps=steps, training=self.training.replace(steps=steps))
