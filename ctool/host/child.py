"""What every worker process ctool starts does around its serve loop (``--workers``, ``ab``).

The parent reads one protocol per kind of worker; this module only turns the way a serve
loop ended into the last message the parent gets and the process's exit code, the same way
for every kind, and puts the parent's ``sys.path`` first so the pipeline imports alike.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from ctool.model.errors import CtoolError

Send = Callable[[dict[str, Any]], None]


def use_parent_path(entries: Iterable[str]) -> None:
    """The parent's ``sys.path`` entries, first, in its order."""
    for entry in reversed(list(entries)):
        if entry not in sys.path:
            sys.path.insert(0, entry)


def serve_reporting_errors(serve: Callable[[], object], send: Send) -> int:
    """Run ``serve``; an error is one message to the parent and the exit code (0 when it ends
    normally, the error's own code for a ctool error, 1 otherwise or when the parent is gone)."""
    try:
        serve()
    except BrokenPipeError:  # the parent is gone: nobody to tell
        return 1
    except CtoolError as exc:
        send({"type": "error", "message": exc.message, "exit_code": exc.exit_code})
        return exc.exit_code
    except Exception as exc:
        message = f"worker {os.getpid()} failed: {type(exc).__name__}: {exc}"
        send({"type": "error", "message": message, "exit_code": 1})
        return 1
    return 0
