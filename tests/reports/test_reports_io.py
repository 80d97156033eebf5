from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ctool.model.errors import ReportError
from ctool.model.io import atomic_write_text, load_report
from ctool.model.samples import decode_ns, encode_ns
from ctool.workload.digest import canonical, output_digest


def test_samples_roundtrip_lossless_and_compact() -> None:
    rng = np.random.default_rng(1)
    values = (rng.lognormal(np.log(2e6), 0.3, 100_000)).astype(np.int64)
    text = encode_ns(values)
    assert np.array_equal(decode_ns(text, values.size), values)
    assert len(text) < 2_000_000 * 0.6
    assert decode_ns(encode_ns([]), 0).size == 0


def test_samples_corrupt_is_value_error() -> None:
    with pytest.raises(ValueError):
        decode_ns("not base64!!", 3)
    with pytest.raises(ValueError):
        decode_ns(encode_ns([1, 2, 3]), 4)


def test_digest_rounds_to_six_significant_digits() -> None:
    a = output_digest([{"x": 1.0000001, "flag": True}, {"x": 2.5}])
    b = output_digest([{"x": 1.0000002, "flag": True}, {"x": 2.5}])
    c = output_digest([{"x": 1.001, "flag": True}, {"x": 2.5}])
    assert a == b != c
    assert canonical(-0.0) == canonical(0.0)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "empty file"),
        ("{not json", "not valid JSON"),
        ('{"schema_version": 1, "kind": "profile"', "not valid JSON"),
        ("[]", "not a ctool report"),
        ('{"kind": "profile"}', "no schema_version"),
        ('{"schema_version": 99, "kind": "profile"}', "newer"),
        ('{"schema_version": 1, "kind": "banana"}', "unknown report kind"),
        ('{"schema_version": 1, "kind": "profile"}', "invalid profile report"),
    ],
)
def test_load_report_errors_are_one_line(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(ReportError) as info:
        load_report(path)
    assert fragment in info.value.message
    assert "\n" not in info.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no such file"):
        load_report(tmp_path / "absent.json")


def test_atomic_write_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    atomic_write_text(path, json.dumps({"a": 1}))
    atomic_write_text(path, json.dumps({"a": 2}))
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_atomic_write_uses_normal_permissions(tmp_path: Path) -> None:
    import os
    import stat

    path = tmp_path / "perm.json"
    atomic_write_text(path, "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
