"""Name a function to profile line by line: ``package.module:function`` or ``module:Class.method``.

Used by the ``line`` and ``memory`` backends (``--line-target``, ``--memory-target``). A bad
reference is a usage error with one line saying what was wrong.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import types
from typing import Any

from ctool.model.errors import UsageError


def resolve_target(ref: str, *, option: str) -> types.FunctionType:
    """Import ``module`` and walk ``attr.path`` to a plain Python function."""
    module_name, sep, attr_path = ref.partition(":")
    if not sep or not module_name or not attr_path:
        raise UsageError(f"{option} expects 'package.module:function', got {ref!r}")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise UsageError(
            f"{option} {ref!r}: cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        try:
            target = inspect.getattr_static(target, part)
        except AttributeError:
            raise UsageError(f"{option} {ref!r}: {module_name!r} has no {attr_path!r}") from None
    function = as_function(target)
    if function is None:
        raise UsageError(f"{option} {ref!r} is a {type(target).__name__}, not a Python function")
    return function


def as_function(obj: Any) -> types.FunctionType | None:
    """The Python function behind a function, method, static/class method or decorator."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property) and obj.fget is not None:
        obj = obj.fget
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if callable(obj):
        obj = inspect.unwrap(obj)  # @ctool.stage and functools.wraps wrappers
    return obj if isinstance(obj, types.FunctionType) else None


def function_for_code(code: types.CodeType) -> types.FunctionType | None:
    """The function object that runs ``code`` (profilers report code; line tools need functions)."""
    for referrer in gc.get_referrers(code):
        if isinstance(referrer, types.FunctionType) and referrer.__code__ is code:
            return referrer
    return None


def target_name(function: types.FunctionType) -> str:
    return f"{function.__module__}:{function.__qualname__}"
