"""The training language: the held-out split is frozen, the train language is richer and noisy.

The held-out test sets are the benchmark's yardstick, so their tasks are pinned byte for byte:
a change to the training language must never move them.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from styling_env import tasks

#: sha256 over the JSON of the first 200 test tasks per tier (``test_tasks(tier)``), computed
#: before the training language was enriched. A change here changes the benchmark.
TEST_SET_DIGESTS = {
    "simple": "5d86a88546b3ba8149c8584321bfd84423fdc636f7fcf8e680b0a8faf0359f25",
    "regular": "236dea62d0e7cdf37d7cb3543169f69d9f3b45934d251c5fee917b163c533e89",
    "complex": "8e2d58b007eb04470fc5bdc82e655edf6164849f6373a1042b5941e5a3078f0d",
}


def _digest(items: list[dict]) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(json.dumps(item, sort_keys=True).encode())
    return h.hexdigest()


@pytest.mark.parametrize("tier", tasks.TIERS)
def test_held_out_test_sets_are_byte_identical(tier: str) -> None:
    assert _digest([t.to_dict() for t in tasks.test_tasks(tier)]) == TEST_SET_DIGESTS[tier]
