"""The timeline on the HTML status page and `orch history --html`, in headless Chromium at 1280 and 420 px."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(path, profile, width: int, shot=None) -> str:
    """The DOM after scripts ran (and a screenshot when asked), at a window `width` px wide."""
    extra = [f"--screenshot={shot}"] if shot else ["--dump-dom"]
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},1400",
                           "--virtual-time-budget=2000", *extra, f"file://{path}"],
                          capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def page_width(path, profile, width: int) -> int:
    """How wide the page lays out in a `width` px viewport (an iframe of that width, measured by a script)."""
    wrapper = path.parent / f"measure-{width}.html"
    wrapper.write_text(f'<!doctype html><body style="margin:0"><iframe id="f" src="{path.name}" '
                       f'style="width:{width}px;height:900px;border:0"></iframe><script>'
                       'f.onload = () => document.body.setAttribute("data-scroll-width", '
                       'f.contentDocument.documentElement.scrollWidth);</script></body>')
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--allow-file-access-from-files",
                           "--virtual-time-budget=3000", "--dump-dom", f"file://{wrapper}"],
                          capture_output=True, text=True, timeout=90)
    wrapper.unlink()
    found = re.search(r'data-scroll-width="(\d+)"', proc.stdout)
    assert found, proc.stdout[-2000:] + proc.stderr[-2000:]
    return int(found.group(1))


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def rows(dom: str) -> dict[str, str]:
    """Each task row of the timeline, by task id."""
    found = re.findall(r'<div class="tl-row task-row" data-task="([^"]+)">(.*?)</svg></div>', dom, re.S)
    return dict(found)


def build(r, end: datetime) -> None:
    """Three tasks over the two hours before `end`: runs of different conditions, a decision, an ack, a gap."""
    r.set_config(tick_interval="10m", tick_grace="2m")
    a, b, c = r.worktree("a"), r.worktree("b"), r.worktree("c")
    r.write(a, "x.py", "1\n")
    r.commit(b, "y.py", "2\n")
    r.dispatch("A", "a", a, "--title", "<b>bold</b> & <script>alert(1)</script>")
    r.dispatch("B", "b", b)
    r.dispatch("C", "c", c)
    start = end - timedelta(minutes=120)
    for m in (0, 10, 20, 30, 60, 70, 80, 90, 100, 110):  # 30 .. 60: no tick
        if m == 70:
            r.orch("ack", "--now", iso(start + timedelta(minutes=65)))
            r.orch("task", "set", "C", "blocked", "--now", iso(start + timedelta(minutes=66)))
        r.orch("tick", "--now", iso(start + timedelta(minutes=m)))
    r.orch("tick", "--now", iso(end))


def test_status_page_timeline_rows_spans_and_stopped_banner(repo, tmp_path):
    r = repo
    end = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=42)  # ticks stopped 42 minutes ago
    build(r, end)
    page = r.root / ".orch" / "reports" / "latest.html"
    html = page.read_text()
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html  # nothing from elsewhere
    assert '<meta http-equiv="refresh"' in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # escaped
    h = r.orch_json("history", "--now", iso(end))
    runs = {t["task"]: len(t["runs"]) for t in h["tasks"]}
    assert runs["A"] == 2 and runs["C"] >= 3, runs  # A: two stretches split by the gap; C: blocked after
    for width in (1280, 420):
        dom = chromium(page, tmp_path / f"profile{width}", width)
        found = rows(dom)
        assert sorted(found) == ["A", "B", "C"]  # one row per task
        for task, body in found.items():
            assert body.count('<rect class="span ') == runs[task], task  # one span per condition run
            assert '<rect class="gap"' in body  # the 30 minutes without ticks
        assert 'class="decision"' in found["C"]
        banner = re.search(r'<p id="ticks-stopped"[^>]*>(.*?)</p>', dom, re.S)
        assert banner and " hidden" not in banner.group(0).split(">")[0]
        text = re.sub(r"<[^>]+>", "", banner.group(1))
        minutes = int(re.match(r"ticks stopped (\d+) min ago: the last tick was at ", text).group(1))
        waited = (datetime.now(timezone.utc) - end).total_seconds() / 60  # 42 when the test started; slow machines
        assert 42 <= minutes <= waited + 1, text
        assert "(4" in dom and "ago)" in dom  # relative times next to local ones
        assert 'title="' + iso(end)[:10] in dom  # UTC on hover
        assert page_width(page, tmp_path / f"profile{width}", width) <= width  # nothing runs off the screen
        chromium(page, tmp_path / f"profile{width}", width, shot=tmp_path / f"status-{width}.png")
        assert (tmp_path / f"status-{width}.png").stat().st_size > 5000
    # With scripts off the page still reads right: UTC times, and the banner hidden (the tick was fresh then).
    assert "UTC</time>" in html and 'id="ticks-stopped"' in html


def test_fresh_page_has_no_banner_and_history_html_for_a_week(repo, tmp_path):
    r = repo
    end = datetime.now(timezone.utc).replace(microsecond=0)
    build(r, end)
    page = r.root / ".orch" / "reports" / "latest.html"
    dom = chromium(page, tmp_path / "p1", 1280)
    banner = re.search(r'<p id="ticks-stopped"[^>]*>', dom).group(0)
    assert "hidden" in banner
    week = tmp_path / "week.html"
    out = r.orch("history", "--since", "7d", "--html", week).stdout
    assert f"Wrote {week}" in out
    for width in (1280, 420):
        dom = chromium(week, tmp_path / f"w{width}", width)
        assert sorted(rows(dom)) == ["A", "B", "C"]
        assert "Per day" in dom and "Median time in each condition" in dom and "missed heartbeat" in dom
        assert page_width(week, tmp_path / f"w{width}", width) <= width
        chromium(week, tmp_path / f"w{width}", width, shot=tmp_path / f"week-{width}.png")
