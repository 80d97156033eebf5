"""Accounting: every started episode of the experiment named by one outcome, against the
control's digest of the same episode.

Outcomes, in the order they are decided: ``lost`` (its replica died), ``timed_out``,
``failed:Type`` (raised), ``duplicated`` (delivered twice), then among those that returned:
``ok`` (digest equal to the control's), ``wrong_caught`` (differs, and the pipeline flagged
it), ``wrong_escaped`` (differs, nothing raised or flagged).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ctool.chaos.driver import EpisodeRecord
from ctool.model.chaos_schema import Accounting, EpisodeOutcome

OUTCOME_LIMIT = 5000
"""Episodes named in the report (beyond it, counted only; the report says so)."""


def outcome_of(record: EpisodeRecord, control: EpisodeRecord | None) -> str:
    if record.status == "lost":
        return "lost"
    if record.status == "timeout":
        return "timed_out"
    if record.status == "error":
        return f"failed:{record.error_type}"
    if record.duplicated:
        return "duplicated"
    if control is not None and control.status == "ok" and control.digest == record.digest:
        return "ok"
    return "wrong_caught" if record.flagged else "wrong_escaped"


def account(
    experiment: Iterable[EpisodeRecord], control: dict[int, EpisodeRecord]
) -> tuple[Accounting, dict[int, str], list[EpisodeOutcome]]:
    """The counts, each episode's outcome, and the episodes that are not ``ok``, named."""
    records = list(experiment)
    outcomes: dict[int, str] = {}
    named: list[EpisodeOutcome] = []
    duplicates = 0
    for record in records:
        if record.index in outcomes:
            duplicates += 1
            continue
        outcome = outcome_of(record, control.get(record.index))
        outcomes[record.index] = outcome
        if outcome != "ok" and len(named) < OUTCOME_LIMIT:
            named.append(EpisodeOutcome(index=record.index, outcome=outcome, faults=record.hits))
    counts = Counter(outcomes.values())
    failed = {k.partition(":")[2]: v for k, v in sorted(counts.items()) if k.startswith("failed:")}
    result = Accounting(
        started=len(records),
        ok=counts["ok"],
        failed=failed,
        timed_out=counts["timed_out"],
        lost=counts["lost"],
        duplicated=counts["duplicated"],
        wrong_escaped=counts["wrong_escaped"],
        wrong_caught=counts["wrong_caught"],
        faulted=sum(1 for r in records if r.hits),
        corrupted=sum(1 for r in records if r.corrupted),
    )
    total = (
        result.ok
        + result.failed_total
        + result.timed_out
        + result.lost
        + result.duplicated
        + result.wrong_escaped
        + result.wrong_caught
    )
    result.accounted = duplicates == 0 and total == result.started == len(outcomes)
    return result, outcomes, sorted(named, key=lambda o: o.index)
