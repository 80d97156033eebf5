"""What `ctool profile` measures, beyond a pipeline factory: an episode function, a script,
a module, or a running process (docs/profiling.md, "No pipeline needed").

``profile`` declares the options and calls :func:`dispatch` once, first. An episode function
(``--episode module:function``) becomes the pipeline reference ``episode:module:function``
and the run goes on as any other; ``--script``, ``-m`` and ``--pid`` runs are handled here
to the end (the report emitted, the exit code chosen), since their options differ.
"""

from __future__ import annotations

import contextlib
import shlex
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ctool.model.errors import UsageError

if TYPE_CHECKING:
    from ctool.model.schema import ProfileReport

TARGETS = "What to profile (instead of --pipeline)"

EpisodeOption = Annotated[
    str | None,
    typer.Option(
        metavar="MODULE:FUNCTION",
        help="A sync or async function (or callable object) that IS the episode: called "
        "with the episode index if it takes an argument, else with none.",
        rich_help_panel=TARGETS,
    ),
]
ScriptOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        help="Run this script once, as python FILE ARGS would (ARGS after --).",
        rich_help_panel=TARGETS,
    ),
]
ModuleOption = Annotated[
    str | None,
    typer.Option(
        "--module",
        "-m",
        metavar="MODULE",
        help="Run this module once, as python -m MODULE ARGS would (ARGS after --).",
        rich_help_panel=TARGETS,
    ),
]
PidOption = Annotated[
    str | None,
    typer.Option(
        metavar="PID",
        help="Sample this running Python process with py-spy for --duration seconds "
        "\\[default: 10], without restarting it.",
        rich_help_panel=TARGETS,
    ),
]
ProgramArgs = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="ARGS", help="The program's arguments, after -- (--script, -m).", show_default=False
    ),
]


@dataclass
class TargetOptions:
    """The profile command's options as typed (strings until checked here)."""

    pipeline: str | None = None
    episode: str | None = None
    script: str | None = None
    module: str | None = None
    pid: Any = None
    args: list[str] = field(default_factory=list)
    duration: Any = None
    profilers: list[str] = field(default_factory=list)
    require: bool | None = None
    pyspy_rate: Any = None
    top: Any = None
    hotspots: str | None = None
    user_code: list[str] = field(default_factory=list)
    block_threshold_ms: Any = None
    output_format: str | None = None
    quiet: bool = False
    output: Path | None = None
    html: Path | None = None
    episode_options: Mapping[str, Any] = field(default_factory=dict)
    """Options that only an episode run takes (``--episodes``: its value); refused here."""


def dispatch(options: TargetOptions) -> str | None:
    """The pipeline reference for an episode run; a program or process run is done here."""
    chosen = [
        name
        for name, value in (
            ("--pipeline", options.pipeline),
            ("--episode", options.episode),
            ("--script", options.script),
            ("-m", options.module),
            ("--pid", options.pid),
        )
        if value is not None
    ]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} name two things to profile; choose one")
    if options.args and (options.script is None and options.module is None):
        shown = shlex.join(options.args)
        raise UsageError(f"unexpected arguments {shown!r}: only --script and -m take ARGS")
    if options.episode is not None:
        from ctool.workload.episode_function import episode_ref

        return episode_ref(options.episode)
    if options.script is None and options.module is None and options.pid is None:
        return options.pipeline
    given = [name for name, value in options.episode_options.items() if value]
    if given:
        raise UsageError(f"{chosen[0]} runs once: {', '.join(given)} apply to episode runs only")
    _run_once(options, chosen[0])
    return None  # not reached: _run_once exits


def _number(option: str, value: Any, kind: type[int] | type[float]) -> Any:
    if value is None or isinstance(value, kind):
        return value
    try:
        return kind(str(value).strip().replace("_", ""))
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise UsageError(f"{option} must be {noun}, got {value!r}") from None


def _run_once(options: TargetOptions, what: str) -> None:
    from ctool.cli.output import parse_format
    from ctool.cli.stop import Targets, finish

    fmt = parse_format(options.output_format)
    targets = Targets(fmt=fmt, output=options.output, html=options.html, quiet=options.quiet)
    targets.check()
    threshold = _number("--block-threshold-ms", options.block_threshold_ms, float)
    common: dict[str, Any] = {
        "top": _number("--top", options.top, int) or 10,
        "hotspots": options.hotspots or "boundary",
        "user_code": tuple(options.user_code),
        "block_threshold_ms": 5.0 if threshold is None else threshold,
        "command": shlex.join(["ctool", *sys.argv[1:]]),
    }
    rate = _number("--pyspy-rate", options.pyspy_rate, int) or 100
    from ctool.host import stop

    if options.pid is not None:
        with stop.measuring():
            report = _attach(options, common, rate)
        code = 0
    else:
        if options.duration is not None:
            raise UsageError(f"{what} runs the program to its end: --duration is for --pid")
        with stop.measuring():
            report = _program(
                options, common, rate, quiet_stdout=fmt != "table" or _stdout(options)
            )
        code = int(getattr(report, "program", {}).get("exit_code") or 0)
    finish(report, targets)
    raise typer.Exit(code)


def _stdout(options: TargetOptions) -> bool:
    return str(options.output) == "-" or str(options.html) == "-"


def _attach(options: TargetOptions, common: dict[str, Any], rate: int) -> ProfileReport:
    from ctool.attach.runner import AttachConfig, run_attach

    if options.profilers:
        raise UsageError("--pid samples with py-spy: --profiler does not apply")
    pid = _number("--pid", options.pid, int)
    duration = _number("--duration", options.duration, float)
    config = AttachConfig(
        pid=pid, duration_s=10.0 if duration is None else duration, rate=rate, **common
    )
    return run_attach(config)


def _program(
    options: TargetOptions, common: dict[str, Any], rate: int, *, quiet_stdout: bool
) -> ProfileReport:
    from ctool.run.program import DEFAULT_PROFILERS, ProgramRunConfig, run_program_profile
    from ctool.workload.program import Program

    if options.script is not None:
        program = Program("script", options.script, tuple(options.args))
    else:
        program = Program("module", str(options.module), tuple(options.args))
    config = ProgramRunConfig(
        program=program,
        profilers=tuple(options.profilers) or DEFAULT_PROFILERS,
        require=bool(options.require),
        pyspy_rate=rate,
        **common,
    )
    with _program_stdout(to_stderr=quiet_stdout):
        return run_program_profile(config)


@contextlib.contextmanager
def _program_stdout(*, to_stderr: bool) -> Iterator[None]:
    """The program's output is passed through; when ctool's stdout carries a machine format
    (``--format json``, ``-o -``), the program's stdout goes to stderr instead."""
    if not to_stderr:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield
