"""A chaos plan: the faults of one experiment, from a TOML file and ``--fault`` options.

A plan file (``examples/chaos/day9.toml``)::

    [run]                     # every key optional; command-line options win
    duration_s = 12
    concurrency = 1
    episode_timeout_s = 1.0
    window_s = 1.0

    [hypothesis]              # the steady state (docs/chaos.md): tolerances per window
    p99_ms = 50
    error_rate = 0.01
    [hypothesis.outputs]      # an output's window mean within this share of the control's
    phi = 0.05

    [[fault]]
    kind = "error"            # latency | error | hang | corrupt | message | cpu | memory
    target = "span:MEA"       #   | fds | starve | partition
    probability = 0.05
    start_s = 2
    duration_s = 5

``--fault 'KIND:TARGET:key=value,key=value'`` adds one fault (TARGET may be empty for the
resource kinds). Every key is checked here: a bad plan is one line and exit 2.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ctool.model.errors import UsageError

STAGE_KINDS = ("latency", "error", "hang", "corrupt", "message")
"""Faults that act where a span or a fault point is entered, per call."""
WINDOW_KINDS = ("cpu", "memory", "fds", "starve", "partition")
"""Faults that act on the whole process (or a replica, or a proxy) for a window."""
KINDS = STAGE_KINDS + WINDOW_KINDS

CORRUPT_MODES = ("nan", "sign", "stale", "perturb", "drop", "duplicate")
MESSAGE_ACTIONS = ("drop", "delay")
LATENCY_MODES = ("awaited", "blocking")
PARTITION_ACTIONS = ("blackhole", "reset", "latency", "bandwidth", "slicer")

_COMMON = {"kind", "target", "start_s", "duration_s", "probability", "every", "name"}
_KEYS: dict[str, set[str]] = {
    "latency": {"ms", "jitter_ms", "tail_probability", "tail_ms", "mode"},
    "error": {"exception", "message"},
    "hang": {"mode"},
    "corrupt": {"mode", "scale"},
    "message": {"action", "ms"},
    "cpu": {"threads", "processes"},
    "memory": {"mb"},
    "fds": {"consume", "cap"},
    "starve": {"block_ms", "every_ms"},
    "partition": {
        "action",
        "ms",
        "jitter_ms",
        "bytes_per_s",
        "slice_bytes",
        "delay_ms",
        "direction",
    },
}

EXCEPTIONS = (
    "RuntimeError",
    "ValueError",
    "TimeoutError",
    "ConnectionError",
    "OSError",
    "KeyError",
    "MemoryError",
)
"""Exception types an ``error`` fault may raise (by name; builtins only)."""


@dataclass(frozen=True)
class Fault:
    """One fault of a plan: what, where, when and how often."""

    kind: str
    target: str = ""
    """``span:NAME``, ``point:NAME`` (a ``ctool.fault_point``), a proxy name (partition), or
    empty (resource kinds)."""
    start_s: float = 0.0
    duration_s: float | None = None
    """None: until the experiment ends."""
    probability: float = 1.0
    every: int = 1
    """Act on every n-th call that falls in the window (1: every call)."""
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        where = f"@{self.target}" if self.target else ""
        return f"{self.kind}{where}"

    @property
    def end_s(self) -> float:
        return math.inf if self.duration_s is None else self.start_s + self.duration_s

    def active_at(self, offset_s: float) -> bool:
        return self.start_s <= offset_s < self.end_s

    def number(self, key: str, default: float) -> float:
        value = self.params.get(key, default)
        return float(value)

    def text(self, key: str, default: str) -> str:
        return str(self.params.get(key, default))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "label": self.label}
        if self.target:
            out["target"] = self.target
        out["start_s"] = self.start_s
        out["duration_s"] = self.duration_s
        if self.probability != 1.0:
            out["probability"] = self.probability
        if self.every != 1:
            out["every"] = self.every
        out.update(self.params)
        return out


@dataclass(frozen=True)
class ChaosPlan:
    faults: tuple[Fault, ...] = ()
    run: dict[str, Any] = field(default_factory=dict)
    """``[run]`` defaults (duration_s, episodes, concurrency, episode_timeout_s, window_s,
    seed, abort_burn)."""
    hypothesis: dict[str, float] = field(default_factory=dict)
    source: str | None = None

    def with_faults(self, extra: list[Fault]) -> ChaosPlan:
        return replace(self, faults=self.faults + tuple(extra))

    @property
    def fault_end_s(self) -> float:
        """When the last windowed fault ends (``inf`` if one lasts the whole run)."""
        return max((f.end_s for f in self.faults), default=0.0)

    @property
    def first_fault_s(self) -> float:
        return min((f.start_s for f in self.faults), default=math.inf)


RUN_KEYS = {
    "duration_s",
    "episodes",
    "concurrency",
    "episode_timeout_s",
    "window_s",
    "seed",
    "abort_burn",
    "error_budget",
}
HYPOTHESIS_KEYS = {"p50_ms", "p99_ms", "error_rate", "throughput_ratio", "wrong_rate"}
OUTPUT_PREFIX = "output:"
"""``[hypothesis.outputs] phi = 0.05``: the window's mean of the output ``phi`` within 5 %
of the control's mean over the same episodes (kept as ``output:phi``)."""


def load_plan(path: str | Path | None, fault_options: list[str] | None = None) -> ChaosPlan:
    """The plan in ``path`` (if any) plus one fault per ``--fault`` option, checked."""
    plan = ChaosPlan()
    if path is not None:
        plan = parse_plan_text(_read(Path(path)), source=str(path))
    extra = [parse_fault_option(text) for text in fault_options or []]
    plan = plan.with_faults(extra)
    return plan


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"--plan {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--plan {path}: cannot read: {exc}") from None


def parse_plan_text(text: str, *, source: str = "plan") -> ChaosPlan:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML ({exc})") from None
    unknown = set(data) - {"run", "hypothesis", "fault"}
    if unknown:
        raise UsageError(f"{source}: unknown table {sorted(unknown)[0]!r}")
    run = _table(data.get("run", {}), RUN_KEYS, f"{source} [run]")
    hypothesis = _table(
        data.get("hypothesis", {}), HYPOTHESIS_KEYS | {"outputs"}, f"{source} [hypothesis]"
    )
    outputs = hypothesis.pop("outputs", {})
    if not isinstance(outputs, dict):
        raise UsageError(f"{source} [hypothesis.outputs] must be a table of name = tolerance")
    hypothesis.update({f"{OUTPUT_PREFIX}{name}": value for name, value in outputs.items()})
    for key, value in hypothesis.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise UsageError(f"{source} [hypothesis] {key} must be a non-negative number")
    raw_faults = data.get("fault", [])
    if not isinstance(raw_faults, list):
        raise UsageError(f"{source}: [[fault]] must be an array of tables")
    faults = tuple(
        parse_fault(item, where=f"{source} fault {i + 1}") for i, item in enumerate(raw_faults)
    )
    return ChaosPlan(
        faults=faults,
        run=run,
        hypothesis={k: float(v) for k, v in hypothesis.items()},
        source=source,
    )


def _table(value: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{where} must be a table")
    unknown = set(value) - keys
    if unknown:
        raise UsageError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    return dict(value)


def parse_fault_option(text: str) -> Fault:
    """``KIND:TARGET:key=value,...``, e.g. ``error:span:MEA:probability=0.05``.

    TARGET is ``span:NAME`` or ``point:NAME`` for the stage kinds, a proxy name for
    ``partition``, and empty for the others (``cpu::threads=2,start_s=1,duration_s=3``).
    """
    kind, sep, rest = text.partition(":")
    if not sep:
        raise UsageError(f"--fault expects KIND:TARGET:key=value,..., got {text!r}")
    if kind not in KINDS:
        raise UsageError(f"--fault {text!r}: kind must be one of {', '.join(KINDS)}")
    target, params_text = rest, ""
    if kind in STAGE_KINDS:
        scope, sep2, rest2 = rest.partition(":")
        name, _, params_text = rest2.partition(":")
        target = f"{scope}{sep2}{name}"
    else:
        target, _, params_text = rest.partition(":")
    item: dict[str, Any] = {"kind": kind, "target": target}
    for pair in filter(None, (p.strip() for p in params_text.split(","))):
        key, eq, value = pair.partition("=")
        if not eq:
            raise UsageError(f"--fault {text!r}: expected key=value, got {pair!r}")
        item[key.strip()] = _value(value.strip())
    return parse_fault(item, where=f"--fault {text!r}")


def _value(text: str) -> Any:
    if text.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return text  # a word (mode=nan), never a float
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def parse_fault(item: Any, *, where: str) -> Fault:
    """One fault from a TOML table (or a parsed ``--fault``), every key checked."""
    if not isinstance(item, dict):
        raise UsageError(f"{where}: a fault must be a table")
    kind = item.get("kind")
    if kind not in KINDS:
        raise UsageError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    unknown = set(item) - _COMMON - _KEYS[kind]
    if unknown:
        raise UsageError(f"{where}: {kind} takes no key {sorted(unknown)[0]!r}")
    target = str(item.get("target", ""))
    if kind in STAGE_KINDS and not target.startswith(("span:", "point:")):
        raise UsageError(f"{where}: target must be span:NAME or point:NAME, got {target!r}")
    if kind in STAGE_KINDS and len(target.partition(":")[2]) == 0:
        raise UsageError(f"{where}: target {target!r} names no span or point")
    if kind == "corrupt" and not target.startswith("point:"):
        raise UsageError(f"{where}: spans see no values; corrupt needs target = point:NAME")
    if kind == "message" and item.get("action") == "drop" and not target.startswith("point:"):
        raise UsageError(f"{where}: a message drop needs target = point:NAME")
    if kind == "partition" and not target:
        raise UsageError(f"{where}: a partition names its proxy (target = NAME of --proxy)")
    start = _number(item, "start_s", 0.0, where, low=0.0)
    duration = item.get("duration_s")
    if duration is not None:
        duration = _number(item, "duration_s", 0.0, where, low=0.0)
    probability = _number(item, "probability", 1.0, where, low=0.0, high=1.0)
    every = int(_number(item, "every", 1, where, low=1))
    params = {k: v for k, v in item.items() if k in _KEYS[kind]}
    _check_params(kind, params, where)
    return Fault(
        kind=kind,
        target=target,
        start_s=start,
        duration_s=duration,
        probability=probability,
        every=every,
        params=params,
        name=str(item.get("name", "")),
    )


def _number(
    item: dict[str, Any],
    key: str,
    default: float,
    where: str,
    *,
    low: float | None = None,
    high: float | None = None,
) -> float:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{where}: {key} must be a number, got {value!r}")
    if not math.isfinite(value) or (low is not None and value < low):
        raise UsageError(f"{where}: {key} must be >= {low}, got {value!r}")
    if high is not None and value > high:
        raise UsageError(f"{where}: {key} must be <= {high}, got {value!r}")
    return float(value)


_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("latency", "mode"): LATENCY_MODES,
    ("hang", "mode"): LATENCY_MODES,
    ("corrupt", "mode"): CORRUPT_MODES,
    ("message", "action"): MESSAGE_ACTIONS,
    ("partition", "action"): PARTITION_ACTIONS,
    ("partition", "direction"): ("both", "upstream", "downstream"),
    ("error", "exception"): EXCEPTIONS,
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "latency": ("ms",),
    "corrupt": ("mode",),
    "message": ("action",),
    "memory": ("mb",),
    "partition": ("action",),
}


def _check_params(kind: str, params: dict[str, Any], where: str) -> None:
    for key in _REQUIRED.get(kind, ()):
        if key not in params:
            raise UsageError(f"{where}: {kind} needs {key}")
    for key, value in params.items():
        choices = _CHOICES.get((kind, key))
        if choices is not None:
            if value not in choices:
                raise UsageError(f"{where}: {key} must be one of {', '.join(choices)}")
        elif key != "message":
            _number(params, key, 0.0, where, low=0.0)
    if kind == "fds" and not ("consume" in params or "cap" in params):
        raise UsageError(f"{where}: fds needs consume = N or cap = N")
    if kind == "cpu" and not ("threads" in params or "processes" in params):
        raise UsageError(f"{where}: cpu needs threads = N or processes = N")
