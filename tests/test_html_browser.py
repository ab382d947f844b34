"""The HTML report in a real browser (headless Chromium): it renders, and hostile text stays text."""

from __future__ import annotations

import shutil
import subprocess

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


def dump_dom(path, profile) -> str:
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--virtual-time-budget=2000", "--dump-dom", f"file://{path}"],
        capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_html_report_renders_and_hostile_text_never_runs(repo, tmp_path):
    r = repo
    wt = r.worktree("w")
    r.write(wt, "<img src=x onerror=document.title='pwned'>.txt", "x\n")
    r.dispatch("T1", "w", wt, "--title", "<script>document.title='pwned'</script>")
    r.orch("tick")
    dom = dump_dom(r.root / ".orch" / "reports" / "latest.html", tmp_path / "profile")
    assert "<title>orch: " in dom and "pwned</title>" not in dom
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert "<img src=\"x\"" not in dom
    assert ">T1<" in dom and "Act now" in dom
