"""What besides the metrics differs between two runs: hotspots, environment and
configuration, and behaviour (the output digests)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from ctool.model.schema import (
    EnvironmentDiffRow,
    Hotspot,
    HotspotChange,
    HotspotChangeKind,
    ProfileReport,
    Report,
)

_OUTPUT_CONFIG_FIELDS = ("pipeline", "seed", "episodes", "warmup", "rounds")
"""Run settings that change which episodes the digest covers."""

# A hotspot row counts as changed when its share moves by at least HOTSPOT_MIN_SHARE (one
# point) and by at least HOTSPOT_MIN_RATIO.
HOTSPOT_MIN_SHARE = 0.01
HOTSPOT_MIN_RATIO = 1.2


# ---------------------------------------------------------------- hotspots


def _hotspot_key(spot: Hotspot) -> tuple[str, str, str]:
    parts = PurePath(spot.file).parts
    return spot.profiler, "/".join(parts[-2:]), spot.function


def _hotspot_shares(spots: Sequence[Hotspot]) -> dict[tuple[str, str, str], tuple[Hotspot, float]]:
    """Each row's share of its profiler's time: the row's own share, else its self time
    over the listed rows' total (so runs of different lengths compare)."""
    totals: dict[str, float] = {}
    for spot in spots:
        totals[spot.profiler] = totals.get(spot.profiler, 0.0) + (spot.self_ms or 0.0)
    shares: dict[tuple[str, str, str], tuple[Hotspot, float]] = {}
    for spot in spots:
        if spot.share is not None:
            share = spot.share
        elif spot.self_ms is not None and totals[spot.profiler] > 0:
            share = spot.self_ms / totals[spot.profiler]
        else:
            continue
        key = _hotspot_key(spot)
        previous = shares.get(key)
        shares[key] = (spot, share + (previous[1] if previous else 0.0))
    return shares


def hotspot_diff(before: Sequence[Hotspot], after: Sequence[Hotspot]) -> list[HotspotChange]:
    """Functions that appeared, vanished, grew or shrank between two hotspot lists.

    Rows are matched by profiler, the file's last two path parts and the function (not the
    line: edits move lines). Hotspot lists are top-N, so "appeared" means "entered the
    list". A row counts when its share moves by >= 1 point and by >= 1.2x.
    """
    if not before or not after:
        return []
    old, new = _hotspot_shares(before), _hotspot_shares(after)
    rows: list[HotspotChange] = []
    change: HotspotChangeKind
    for key in [*old, *(k for k in new if k not in old)]:
        b = old[key][1] if key in old else 0.0
        a = new[key][1] if key in new else 0.0
        if abs(a - b) < HOTSPOT_MIN_SHARE:
            continue
        if key not in old:
            change = "appeared"
        elif key not in new:
            change = "vanished"
        elif a >= b * HOTSPOT_MIN_RATIO:
            change = "grew"
        elif b >= a * HOTSPOT_MIN_RATIO:
            change = "shrank"
        else:
            continue
        spot = (new.get(key) or old[key])[0]
        rows.append(
            HotspotChange(
                change=change,
                profiler=spot.profiler,
                function=spot.function,
                file=spot.file,
                line=spot.line,
                share_before=b,
                share_after=a,
            )
        )
    rows.sort(key=lambda row: -abs(row.share_after - row.share_before))
    return rows


# ---------------------------------------------------------------- environment and configuration


_MACHINE_FIELDS = ("hostname", "cpu_model", "cpu_count")
_ENV_FIELDS = ("python", "implementation", "platform", *_MACHINE_FIELDS)
_CONFIG_FIELDS = (
    "pipeline",
    "preset",
    "seed",
    "episodes",
    "warmup",
    "concurrency",
    "rate",
    "duration_s",
    "burst",
    "workers",
    "rounds",
    "profilers",
)


def _diff_row(field: str, before: Any, after: Any) -> EnvironmentDiffRow:
    return EnvironmentDiffRow(field=field, before=before, after=after)


def environment_diff(before: Report, after: Report) -> tuple[list[EnvironmentDiffRow], list[str]]:
    """Differences in environment and configuration, and the warnings they call for."""
    rows: list[EnvironmentDiffRow] = []
    for field in _ENV_FIELDS:
        b, a = getattr(before.environment, field), getattr(after.environment, field)
        if b != a:
            rows.append(_diff_row(f"environment.{field}", b, a))
    for field in _CONFIG_FIELDS:
        b, a = getattr(before.config, field), getattr(after.config, field)
        if b != a:
            rows.append(_diff_row(f"config.{field}", b, a))
    settings_b, settings_a = before.config.settings, after.config.settings
    rows.extend(
        _diff_row(f"settings.{key}", settings_b.get(key), settings_a.get(key))
        for key in sorted(set(settings_b) | set(settings_a))
        if settings_b.get(key) != settings_a.get(key)
    )
    warnings: list[str] = []
    machine = [r for r in rows if r.field in {f"environment.{f}" for f in _MACHINE_FIELDS}]
    if machine:
        what = ", ".join(f"{r.field.split('.', 1)[1]} {r.before} vs {r.after}" for r in machine)
        warnings.append(
            f"the runs come from different machines ({what}): the ratio measures the "
            "machines as much as the code"
        )
    for field in ("python", "implementation"):
        b, a = getattr(before.environment, field), getattr(after.environment, field)
        if b != a:
            warnings.append(f"different Python {field}: {b} vs {a}")
    if sorted(before.config.profilers) != sorted(after.config.profilers):
        warnings.append("the runs used different profilers; their overhead is in the timings")
    return rows, warnings


# ---------------------------------------------------------------- behaviour


def behaviour(before: ProfileReport, after: ProfileReport) -> tuple[str, str]:
    """``outputs identical`` / ``outputs changed`` / ``not comparable``, and why.

    Runs with different settings did different work, except for the settings either report
    names in ``neutral_settings`` (its pipeline's word that they change how it runs, not
    what it computes): those may differ and the outputs still compare."""
    db, da = before.output_digest, after.output_digest
    if db is None or da is None:
        side = "before" if db is None else "after"
        return "not comparable", f"no output digest in {side} (the pipeline has no outputs hook)"
    if db == da:
        return "outputs identical", f"digest {db[:12]}"
    reasons = []
    for field in _OUTPUT_CONFIG_FIELDS:
        b, a = getattr(before.config, field), getattr(after.config, field)
        if b != a:
            reasons.append(f"{field} {b} vs {a}")
    settings_b, settings_a = before.config.settings, after.config.settings
    neutral = set(before.settings_neutral) | set(after.settings_neutral)
    reasons.extend(
        f"setting {key} {settings_b.get(key)} vs {settings_a.get(key)}"
        for key in sorted(set(settings_b) | set(settings_a))
        if key not in neutral and settings_b.get(key) != settings_a.get(key)
    )
    if reasons:
        return "not comparable", "the runs did different work: " + "; ".join(reasons)
    return "outputs changed", f"digest {db[:12]} vs {da[:12]}"


def paired_behaviour(
    a_reports: Sequence[ProfileReport], b_reports: Sequence[ProfileReport]
) -> tuple[str, str]:
    """:func:`behaviour` for ``ctool ab``: each side must also agree with itself."""
    for label, reports in (("A", a_reports), ("B", b_reports)):
        digests = {r.output_digest for r in reports}
        if None in digests:
            return "not comparable", f"{label} has no output digest (no outputs hook)"
        if len(digests) > 1:
            return (
                "not comparable",
                f"{label}'s outputs differ between its rounds: the pipeline is not "
                "deterministic for a fixed seed",
            )
    return behaviour(a_reports[0], b_reports[0])
