"""The fleet HTML report, opened in a real headless browser, shows every item and sorts.

The page promises to work offline with no assets and a few lines of inline JavaScript: only a
browser can show that the script runs under the page's own Content-Security-Policy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolsfix.cli import cli

REPO = Path(__file__).resolve().parent.parent
BUNDLES = ("sol11.1-s10build-lso-on", "sol10-no-accept-jumbo", "linux-router-lro")
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(BROWSER is None, reason="chromium is not installed")


def _dump_dom(page: Path, profile: Path) -> str:
    assert BROWSER is not None
    proc = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "HOME": str(profile)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _rows(dom: str) -> list[str]:
    body = dom.split('<table id="items">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<a href="#item-\d+">([^<]*)</a>', body)


def test_browser_shows_every_item_and_sorts_by_a_column(tmp_path: Path) -> None:
    inputs = [str(REPO / "vendor-samples" / "bundles" / b) for b in BUNDLES]
    html = tmp_path / "fleet.html"
    result = CliRunner().invoke(
        cli, ["audit", *inputs, "--jobs", "1", "-q", "--format", "json", "-o", f"html:{html}"]
    )
    assert result.exit_code in (0, 1), result.output
    dom = _dump_dom(html, tmp_path / "profile")
    shown = _rows(dom)
    assert sorted(shown) == sorted(inputs)
    for b in BUNDLES:
        assert b in dom

    # Click the "Input" header twice in the page itself: ascending, then descending.
    clicked = tmp_path / "clicked.html"
    click = "<script>var h=document.querySelector('th[data-col=\"0\"]');h.click();</script>"
    clicked.write_text(html.read_text(encoding="utf-8").replace("</body>", click + "</body>"))
    dom = _dump_dom(clicked, tmp_path / "profile2")
    assert _rows(dom) == sorted(inputs)
    assert 'data-dir="asc"' in dom
    twice = tmp_path / "twice.html"
    twice.write_text(html.read_text(encoding="utf-8").replace("</body>", click + click + "</body>"))
    assert _rows(_dump_dom(twice, tmp_path / "profile3")) == sorted(inputs, reverse=True)
