"""Quiet command lines: the project's CLIs print their own lines, not their dependencies'.

d3rlpy 2.8 imports the old ``gym`` package, whose import prints a four-line "Gym has been
unmaintained" notice to stderr, and d3rlpy logs info lines through structlog. :func:`quiet`
imports ``gym`` once with stderr captured (the notice is printed only on its first import) and
raises structlog's level to warnings; transformers' "Loading weights" progress bars (the
MiniLM encoder, Qwen3-VL checkpoints) are turned off. CLIs call it unless ``--verbose``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys


def quiet() -> None:
    """Silence the gym notice, d3rlpy's structlog info lines and transformers' loading bars for
    this process."""
    import os

    # read by huggingface_hub and transformers when they are first imported
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:  # already imported: tell its logging module directly
        with contextlib.suppress(Exception):
            sys.modules["transformers"].utils.logging.disable_progress_bar()
    if "gym" not in sys.modules:
        # not installed, or broken: nothing to silence
        with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(Exception):
            import gym  # noqa: F401 - imported once here so its notice goes nowhere
    try:
        import structlog
    except ImportError:
        return
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
