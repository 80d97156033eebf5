"""The loop's default executor, copying the caller's context into its threads.

``loop.run_in_executor(None, fn)`` does not copy context variables into the worker thread
(``asyncio.to_thread`` does), so spans that ``fn`` opens would record nowhere and the work
would lose its stage. The harness installs this executor as the loop's default: each call
runs in a copy of the submitting task's context, recorder included, and its spans land in
the episode that handed the work over.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        context = contextvars.copy_context()
        return super().submit(context.run, fn, *args, **kwargs)
