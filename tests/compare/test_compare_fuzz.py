"""Random JSON into the loader and compare: the only exception that may escape is the
user-facing ``ReportError`` (a one-line message, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctool.analysis.compare import compare_reports, require_profile
from ctool.analysis.synthetic import LatencyModel, profile_report
from ctool.model.errors import UsageError
from ctool.model.io import load_report

_rng = np.random.default_rng(0)
GOOD = profile_report(
    list(LatencyModel().episodes(_rng, (3,), 60)),
    stage_shares={"TIG": 0.5, "ESGT": 0.5},
    pipeline_metrics={"phi": {"p50_ms": 0.2, "hit_rate": 0.5}},
    batches=4,
)
GOOD_JSON: dict[str, Any] = json.loads(GOOD.model_dump_json())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            found += _paths(value, (*prefix, index))
    return found


PATHS = _paths(GOOD_JSON)


def _mutate(path: tuple[Any, ...], value: Any, delete: bool) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(GOOD_JSON))
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def _check(tmp: Path, text: str) -> None:
    path = tmp / "r.json"
    path.write_text(text)
    try:
        report = require_profile(load_report(path), str(path))
        compare_reports(GOOD, report, resamples=50)
        compare_reports(report, GOOD, resamples=50)
    except UsageError as exc:
        assert "\n" not in exc.message


FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(value=json_values)
def test_random_json_documents(tmp_path_factory: pytest.TempPathFactory, value: Any) -> None:
    _check(tmp_path_factory.mktemp("fuzz"), json.dumps(value))


@FUZZ
@given(
    path=st.sampled_from(PATHS),
    value=json_values,
    delete=st.booleans(),
)
def test_mutated_profile_reports(
    tmp_path_factory: pytest.TempPathFactory, path: tuple[Any, ...], value: Any, delete: bool
) -> None:
    _check(tmp_path_factory.mktemp("fuzz"), json.dumps(_mutate(path, value, delete)))


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(json.dumps(GOOD_JSON))))
def test_truncated_reports(tmp_path_factory: pytest.TempPathFactory, cut: int) -> None:
    _check(tmp_path_factory.mktemp("fuzz"), json.dumps(GOOD_JSON)[:cut])
