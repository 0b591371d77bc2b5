"""A worker process of :class:`styling_env.parallel.ParallelStylingVectorEnv`.

Started as ``python -m styling_env.vector_worker FD`` (a fresh interpreter: nothing of the
caller's ``__main__`` is imported, so a script needs no ``if __name__ == "__main__"`` guard, and
no OpenMP state is inherited through a fork). ``FD`` is the worker's end of a socket pair,
spoken to as a :class:`multiprocessing.connection.Connection`: first ``(num_envs, config,
autoreset_mode, threads)``, then ``(command, payload)`` messages, each answered with ``("ok",
result)`` or ``("error", traceback)``.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from multiprocessing.connection import Connection
from typing import Any


def serve(conn: Connection) -> None:
    """Build the worker's vector env from the first message, then answer commands until
    ``close`` (or the parent's end of the pipe closes)."""
    env = None
    try:
        import torch

        num_envs, config, autoreset, threads = conn.recv()
        torch.set_num_threads(threads)
        from styling_env.vector import ImageStylingVectorEnv

        env = ImageStylingVectorEnv(num_envs, config=config, autoreset_mode=autoreset)
        conn.send(("ok", None))
        while True:
            command, payload = conn.recv()
            if command == "close":
                conn.send(("ok", None))
                break
            result: Any
            if command == "reset":
                result = env.reset(**payload)
            elif command == "step":
                result = env.step(payload)
            elif command == "render":
                result = env.render()
            elif command == "timings":
                result = (dict(env.engine.timings), dict(env.engine.counts))
            else:
                raise ValueError(f"unknown worker command {command!r}")
            conn.send(("ok", result))
    except (KeyboardInterrupt, EOFError):
        pass
    except Exception:  # reported to the parent, which raises it as a WorkerError
        with contextlib.suppress(OSError):
            conn.send(("error", traceback.format_exc()))
    finally:
        if env is not None:
            env.close()
        conn.close()


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
