"""The HTML report in a real browser: headless Chromium opens it offline without errors.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skipped,
saying why, only when they are not installed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import report_fixtures as F
from browser import find_browser, screenshot, severe_console_messages, start_chromium

from ctool.model.schema import Report
from ctool.reports.html import write_html

_, _, WHY_NOT = find_browser()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(WHY_NOT), reason=f"headless Chromium unavailable: {WHY_NOT}"),
]


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    drv = start_chromium(tmp_path_factory.mktemp("chromium-profile"), width=1280, height=1000)
    try:
        yield drv
    finally:
        drv.quit()


def _reports(kind: str, tmp: Path, hostile: bool) -> tuple[Report, list[Report]]:
    if kind == "profile":
        return F.profile_report(500, tmp=tmp, hostile=hostile), []
    if kind == "leakcheck":
        return F.leakcheck_report(500, hostile=hostile), []
    if kind == "suite":
        return F.suite_report(hostile=hostile), []
    before = F.profile_report(300, seed=1, scale=1.3, preset="baseline", hostile=hostile)
    return F.compare_report(hostile=hostile), [before, F.profile_report(300, hostile=hostile)]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


@pytest.mark.parametrize("hostile", [False, True], ids=["plain", "hostile"])
@pytest.mark.parametrize(
    "kind", [pytest.param("profile", marks=pytest.mark.slow), "leakcheck", "suite", "compare"]
)
def test_report_opens_without_console_errors(
    driver: Any, kind: str, hostile: bool, tmp_path: Path
) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    report, related = _reports(kind, tmp_path, hostile)
    page = tmp_path / f"{kind}.html"
    write_html(report, page, related=related)
    severe_console_messages(driver)  # drop what earlier pages logged
    driver.get(page.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    assert severe_console_messages(driver) == []
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - raises when no alert() ran
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert charts and all(c.size["width"] > 300 for c in charts), "charts are laid out"
    body = driver.find_element(By.TAG_NAME, "body").text
    if hostile:
        assert F.XSS in body, "the hostile string is shown as text"
        assert driver.execute_script("return document.scripts.length") == 1
    shot = tmp_path / f"{kind}.png"
    screenshot(driver, shot, full_page=True)
    width, height = _png_size(shot)
    assert width >= 1000 and height > 1000


def test_tables_sort_and_flame_graph_zooms(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "profile.html"
    write_html(F.profile_report(500, tmp=tmp_path), page)
    driver.get(page.as_uri())

    def first_stage_column() -> list[str]:
        rows = driver.find_elements(By.CSS_SELECTOR, "#stages table tbody tr td:first-child")
        return [r.text for r in rows]

    before = first_stage_column()
    mean_header = driver.find_elements(By.CSS_SELECTOR, "#stages table thead th")[2]
    driver.execute_script("arguments[0].click()", mean_header)  # descending by mean
    after = first_stage_column()
    assert sorted(before) == sorted(after) and after[0] == "ESGT"

    frame = driver.execute_script(
        "return [...document.querySelectorAll('svg.flame g.fr')]"
        ".find(g => g.querySelector('title').textContent.startsWith('phi\\n'))"
    )
    width_before = float(frame.find_element(By.TAG_NAME, "rect").get_attribute("width"))
    driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click'))", frame)
    width_after = float(frame.find_element(By.TAG_NAME, "rect").get_attribute("width"))
    assert width_before < 500 < width_after, "clicking a frame zooms it to the full width"
    root = driver.find_element(By.CSS_SELECTOR, "svg.flame g.fr.root")
    driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click'))", root)
    reset = float(frame.find_element(By.TAG_NAME, "rect").get_attribute("width"))
    assert abs(reset - width_before) < 0.2
    assert severe_console_messages(driver) == []
