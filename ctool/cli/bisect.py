"""`ctool bisect`: which commit made it slower; each step an `ab --until-decided`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctool.cli.console import make_console
from ctool.model.errors import EXIT_VERDICT, UsageError

if TYPE_CHECKING:
    from ctool.bisect.result import BisectResult, Step
    from ctool.model.schema import CompareReport


def bisect_command(
    *,
    good: Annotated[str, typer.Option(help="A commit without the regression.")],
    bad: Annotated[str, typer.Option(help="A later commit with it.")],
    pipeline: Annotated[str, typer.Option(help="The pipeline, module:factory.")],
    measure: Annotated[str, typer.Option(help="wall, cpu or instructions.")] = "wall",
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Smallest regression, in percent (default 5; 1 for instructions).",
            show_default=False,
        ),  # fmt: skip
    ] = None,
    preset: Annotated[str | None, typer.Option(help="The pipeline's preset.")] = None,
    setting: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help="A setting.")
    ] = None,
    repo: Annotated[Path, typer.Option(help="The git checkout to bisect.")] = Path("."),
    build: Annotated[
        str | None,
        typer.Option(help="Shell command run once in each commit's worktree before use."),
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(help="Most rounds per ab step (ab's default: 30).")
    ] = None,
    blocks: Annotated[int, typer.Option(help="ABBA block pairs per round.")] = 10,
    block_ms: Annotated[float, typer.Option(help="Length of a block in milliseconds.")] = 100.0,
    warmup: Annotated[int, typer.Option(help="Warm-up episodes per worker.")] = 20,
    budget: Annotated[
        float | None,
        typer.Option(
            help="Time budget of each ab step in seconds (ab's default).", show_default=False
        ),  # fmt: skip
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the pipelines and hash seeds.")] = 0,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="table, markdown or json.")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON result here.")
    ] = None,
    history: Annotated[
        str | None,
        typer.Option(metavar="PATH|DSN", help="Add every ab step to this history store."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Find the commit between --good and --bad that made the pipeline slower.

    The endpoints are confirmed first (an ab of good against bad must say "slower");
    then each step is an ab --until-decided of the midpoint against the newest good
    commit, at a per-step alpha that keeps the whole search right 95 % of the time.
    Commits that fail to build or import are skipped. Exit 0 when a culprit is named,
    1 otherwise (docs/history.md).
    """
    from ctool.bisect.search import BisectPlan, run_bisect

    if output_format not in ("table", "markdown", "json"):
        raise UsageError(f"--format expects table, markdown or json, got {output_format!r}")
    if measure not in ("wall", "cpu", "instructions"):
        raise UsageError(f"--measure expects wall, cpu or instructions, got {measure!r}")
    plan = BisectPlan(
        repo=repo.resolve(), good=good, bad=bad, pipeline=pipeline,
        measure=measure,  # type: ignore[arg-type]  # checked above
        threshold=None if threshold is None else threshold / 100, preset=preset,
        settings=tuple(setting or ()), rounds=rounds, blocks=blocks, block_ms=block_ms,
        warmup=warmup, budget_s=budget, seed=seed, build=build,
    )  # fmt: skip
    result, reports = run_bisect(plan, progress=_progress(quiet))
    if history is not None:
        _add_steps(history, plan.repo, reports)
    _emit(result, output_format, output)
    if result.outcome != "found":
        raise typer.Exit(EXIT_VERDICT)


def _progress(quiet: bool) -> Callable[[Step], None]:
    console = make_console(stderr=True, quiet=quiet)

    def progress(step: Step) -> None:
        ratio = "-" if step.ratio is None else f"{step.ratio:.4f}"
        console.print(
            f"{step.role}: {step.a[:8]} vs {step.b[:8]}: {step.verdict} (B/A {ratio}, "
            f"{step.rounds} rounds, {step.seconds:.0f} s) -> {step.conclusion or '?'}"
        )

    return progress


def _add_steps(target: str, repo: Path, reports: list[tuple[str, CompareReport]]) -> None:
    from ctool.history.gitinfo import commit_info
    from ctool.history.record import record_from_report
    from ctool.history.store import open_store

    records = [
        record_from_report(report, commit_info(repo, commit), source="bisect")
        for commit, report in reports
    ]
    with open_store(target, cwd=repo) as store:
        store.add(records)


def _emit(result: BisectResult, fmt: str, output: Path | None) -> None:
    from ctool.bisect.result import markdown
    from ctool.bisect.result import table as render_table

    if output is not None:
        from ctool.model.io import atomic_write_text

        atomic_write_text(output, result.to_json())
    if fmt == "json":
        typer.echo(result.to_json())
    elif fmt == "markdown":
        typer.echo(markdown(result), nl=False)
    else:
        make_console().print(render_table(result))
