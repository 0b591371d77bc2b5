"""Shared fixtures: a private Minari root per test, and small generated datasets shared by the
dataset, loader and training tests (generated once per session, ~10 s)."""

from __future__ import annotations

import os

import pytest

SMALL = {"simple": 24, "regular": 24, "complex": 24}  # episodes per tier at 32 px
LIBRARIES = ("normal", "v3")  # the libraries beside the default


def pytest_configure(config):
    """Under pytest-xdist, one torch thread per worker (and per subprocess a test starts): two
    workers at two threads each on two cores oversubscribe them, which made the suite 3x slower
    (8 min 44 s against 2 min 52 s). Tests that depend on the thread count set it themselves."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
        import torch

        torch.set_num_threads(1)


@pytest.fixture
def minari_root(tmp_path, monkeypatch):
    """An empty Minari datasets folder for this test (``MINARI_DATASETS_PATH``)."""
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


@pytest.fixture(scope="session")
def _small_root(tmp_path_factory):
    import torch

    from offline_data.dataset import datasets_path
    from offline_data.generate import generate

    root = tmp_path_factory.mktemp("small-datasets")
    # one torch thread: a dataset's content depends on the thread count (a few float reductions
    # round differently), and tests pin what these datasets hold on every machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with datasets_path(root):
            for tier, n in SMALL.items():
                generate(tier, n, seed=0, image_size=32, num_envs=8, ref_episodes=8, progress=False)
    finally:
        torch.set_num_threads(threads)
    return root


@pytest.fixture(scope="session")
def _library_root(tmp_path_factory):
    import torch

    from offline_data.dataset import datasets_path
    from offline_data.generate import generate

    root = tmp_path_factory.mktemp("library-datasets")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a dataset's content depends on the thread count
    try:
        with datasets_path(root):
            for lib in LIBRARIES:
                generate(
                    "complex", 24, seed=0, image_size=32, num_envs=8, ref_episodes=4,
                    progress=False, library=lib,
                )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    return root


@pytest.fixture
def library_datasets(_library_root, monkeypatch):
    """``library -> dataset id`` of small complex datasets of the normal and v3 libraries (24
    episodes, 32 px, seed 0), with ``MINARI_DATASETS_PATH`` pointing at them. Read-only."""
    from offline_data.dataset import dataset_id

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(_library_root))
    return {lib: dataset_id("complex", library=lib) for lib in LIBRARIES}


@pytest.fixture
def small_datasets(_small_root, monkeypatch):
    """``tier -> dataset id`` of small generated datasets (24 episodes, 32 px, seed 0), with
    ``MINARI_DATASETS_PATH`` pointing at them for this test. Treat them as read-only."""
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(_small_root))
    return {tier: f"image-styling/{tier}-v0" for tier in SMALL}


@pytest.fixture
def one_thread():
    """torch at one thread for this test, as the small datasets were generated (a replay that
    compares judge floats with them must run at the same thread count)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def live_actions():
    """``check(agent, tier, n=2, image_size=32)``: the agent's actions on ``n`` freshly reset
    envs of ``tier`` (seed 0), asserted to lie in their action space."""
    from styling_env.vector import ImageStylingVectorEnv

    def check(agent, tier: str, n: int = 2, image_size: int = 32):
        env = ImageStylingVectorEnv(n, tier=tier, image_size=image_size)
        try:
            obs, _ = env.reset(seed=0)
            acts, _ = agent.predict(obs)
            assert env.action_space.contains(acts)
            return acts
        finally:
            env.close()

    return check
