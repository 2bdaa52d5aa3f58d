"""The HTML report in the system's headless Chromium (driven by Playwright): loads offline, no console
errors, every image decoded, and the first screen at 1280x800 holds the verdict, the claim, the lifts
plot and the next actions."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from fixtures.browser import find_chromium, open_page
from fixtures.run_folder import build_run_folder
from memgap.report import compare_runs, render_report
from memgap.report.actions import next_actions
from memgap.verdict_settle import settle_need

pytestmark = pytest.mark.browser
FIRST_SCREEN = (".verdict .badge", ".verdict .claim", "#lifts-figure img", "#next ol.actions")


@pytest.fixture(scope="module")
def chromium() -> str:
    pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
    path = find_chromium()
    if path is None:
        pytest.skip("headless Chromium is not installed: `make chromium` installs Debian's chromium package")
    return path


def _save(tmp_path: Path, name: str, png: bytes) -> Path:
    shot = tmp_path / name
    shot.write_bytes(png)
    if os.environ.get("MEMGAP_SCREENSHOT_DIR"):
        Path(os.environ["MEMGAP_SCREENSHOT_DIR"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(os.environ["MEMGAP_SCREENSHOT_DIR"]) / name)
    return shot


def _check_page(html_path: Path, chromium: str, screenshot_name: str, tmp_path: Path, selectors=()):
    page = open_page(html_path, chromium, selectors=selectors)
    _save(tmp_path, screenshot_name, page.screenshot_png)
    _save(tmp_path, screenshot_name.replace(".png", "_full.png"), page.full_page_png)
    assert page.console_errors == []
    assert page.dialogs == []  # nothing in the data ran as script
    assert page.images and all(image["complete"] and image["width"] > 0 for image in page.images), page.images
    fetched = [url for url in page.requests if not url.startswith(("data:", "file:"))]
    assert fetched == []
    assert page.scroll_width <= page.viewport_width  # no sideways scrolling at a desktop width
    assert page.screenshot_png.startswith(b"\x89PNG") and len(page.screenshot_png) > 10_000
    assert len(page.full_page_png) > len(page.screenshot_png)
    return page


def test_report_opens_cleanly_in_chromium(chromium, tmp_path):
    run_dir = build_run_folder(tmp_path / "run", hostile=True)
    paths = render_report(run_dir)
    page = _check_page(paths["html"], chromium, "report.png", tmp_path)
    assert len(page.images) >= 8
    assert "Memorizes families" in page.title
    # The training section's curves: seen- and unseen-family NLL over training, onset and best step marked.
    curves = [image for image in page.images if image["figure"] == "family_gap-figure"]
    assert len(curves) == 1 and curves[0]["complete"] and curves[0]["width"] > 0, page.images


def _every_action_fires(run_dir: Path) -> None:
    """Edit a run folder's audit so that every kind of next action appears (the longest first screen)."""
    audit = json.loads((run_dir / "audit.json").read_text())
    leakage = audit["split"]["leakage"]
    leakage["unseen_holdout"].update(eval_rows_with_train_sibling_count=2, eval_rows_with_train_sibling=2 / 12)
    audit["families"]["largest_10pct_share"] = 0.7
    audit["gradients"]["by_module"] = {"q_proj": 0.5, "v_proj": 0.3, "k_proj": 0.05, "o_proj": 0.05, "up_proj": 0.05,
                                       "down_proj": 0.05}
    audit["verdict"]["label"] = "inconclusive"
    audit["power"]["score"]["families_needed"] = 60
    # the fact an inconclusive verdict records beside its label, as memgap.verdict writes it
    audit["verdict"]["settle"] = settle_need(audit, "score").to_dict()
    (run_dir / "audit.json").write_text(json.dumps(audit), encoding="utf-8")


@pytest.mark.parametrize("case", ["fixture", "every-action"])
def test_first_screen_holds_verdict_claim_lifts_and_next_actions(chromium, tmp_path, case):
    run_dir = build_run_folder(tmp_path / "run", hostile=case == "every-action")
    if case == "every-action":
        _every_action_fires(run_dir)
    audit = json.loads((run_dir / "audit.json").read_text())
    paths = render_report(run_dir)
    page = _check_page(paths["html"], chromium, f"first_screen_{case}.png", tmp_path, selectors=FIRST_SCREEN)
    assert (tmp_path / f"first_screen_{case}.png").stat().st_size > 10_000
    assert len(next_actions(audit)) == (2 if case == "fixture" else 6)
    for selector in FIRST_SCREEN:
        box = page.boxes[selector]
        assert box is not None, f"{selector} is not on the page"
        assert box["width"] > 0 and box["height"] > 0, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_width, (selector, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_height, (selector, box)


def test_comparison_opens_cleanly_in_chromium(chromium, tmp_path):
    before = build_run_folder(tmp_path / "before", hostile=True)
    after = build_run_folder(tmp_path / "after", seen=(0.2, 0.03), unseen=(0.16, 0.03), omit=("probes",))
    paths = compare_runs(before, after, tmp_path / "cmp")
    _check_page(paths["html"], chromium, "compare.png", tmp_path)
