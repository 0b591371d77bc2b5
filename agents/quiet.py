"""Quiet command lines: the project's CLIs print their own lines, not their dependencies'.

d3rlpy 2.8 imports the old ``gym`` package, whose import prints a four-line "Gym has been
unmaintained" notice to stderr, and d3rlpy logs info lines through structlog. :func:`quiet`
imports ``gym`` once with stderr captured (the notice is printed only on its first import) and
raises structlog's level to warnings; CLIs call it unless ``--verbose``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys


def quiet() -> None:
    """Silence the gym notice and d3rlpy's structlog info lines for this process."""
    if "gym" not in sys.modules:
        # not installed, or broken: nothing to silence
        with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(Exception):
            import gym  # noqa: F401 - imported once here so its notice goes nowhere
    try:
        import structlog
    except ImportError:
        return
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
