"""The HTML report in a real headless Chromium: loads offline, no console errors, every image decoded."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures.chromium import find_chromium, open_page
from fixtures.run_folder import build_run_folder
from memgap.report import compare_runs, render_report

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None and shutil.which("apt-get") and os.geteuid() == 0:
        # The same install CI does; only skipped where the package cannot be installed at all.
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=600)
        path = find_chromium()
    if path is None:
        pytest.skip("headless Chromium is not installed and cannot be installed here (apt-get install chromium)")
    return path


def _check_page(html_path: Path, chromium: str, screenshot_name: str, tmp_path: Path):
    page = open_page(html_path, chromium)
    shot = tmp_path / screenshot_name
    shot.write_bytes(page.screenshot_png)
    if os.environ.get("MEMGAP_SCREENSHOT_DIR"):
        Path(os.environ["MEMGAP_SCREENSHOT_DIR"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(os.environ["MEMGAP_SCREENSHOT_DIR"]) / screenshot_name)
    assert page.console_errors == []
    assert page.dialogs == []  # nothing in the data ran as script
    assert page.images and all(image["complete"] and image["width"] > 0 for image in page.images), page.images
    fetched = [url for url in page.requests if not url.startswith(("data:", "file:"))]
    assert fetched == []
    assert page.scroll_width <= page.viewport_width  # no sideways scrolling at a desktop width
    assert page.screenshot_png.startswith(b"\x89PNG") and len(page.screenshot_png) > 10_000
    return page


def test_report_opens_cleanly_in_chromium(chromium, tmp_path):
    run_dir = build_run_folder(tmp_path / "run", hostile=True)
    paths = render_report(run_dir)
    page = _check_page(paths["html"], chromium, "report.png", tmp_path)
    assert len(page.images) >= 8
    assert "Memorizes families" in page.title


def test_comparison_opens_cleanly_in_chromium(chromium, tmp_path):
    before = build_run_folder(tmp_path / "before", hostile=True)
    after = build_run_folder(tmp_path / "after", seen=(0.2, 0.03), unseen=(0.16, 0.03), omit=("probes",))
    paths = compare_runs(before, after, tmp_path / "cmp")
    _check_page(paths["html"], chromium, "compare.png", tmp_path)
