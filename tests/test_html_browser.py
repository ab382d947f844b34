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


# --- issue 24 (6, 7, 8): what the page shows and how it reads at 1280 and 420 px --------------------------------

MEASURE = """<script>(function () {
  function px(el) { return parseFloat(getComputedStyle(el).fontSize); }
  function bg(el) { return getComputedStyle(el).backgroundColor; }
  var plain = document.createElement("span"); plain.className = "pill"; document.body.appendChild(plain);
  var bar = document.querySelector('.task-row[data-task="T1"] svg').getBoundingClientRect();
  var spans = Array.prototype.map.call(document.querySelectorAll('.task-row svg rect.span'), function (r) {
    var b = r.getBoundingClientRect(); return [b.left - bar.left, b.right - bar.left]; });
  document.body.setAttribute("data-m", JSON.stringify({
    width: innerWidth, scroll: document.documentElement.scrollWidth, text: px(document.body),
    ids: Array.prototype.map.call(document.querySelectorAll("code.task"), function (el) {
      return [px(el), px(el.parentElement)]; }),
    labels: Array.prototype.map.call(document.querySelectorAll(".act-now td, .trust td"), function (td) {
      return getComputedStyle(td, "::before").content; }),
    plain: bg(plain), review: bg(document.querySelector("h1 .pill.review-needed")),
    risk: bg(document.querySelector("#trust .pill.risk-medium")), bar: bar.width,
    first: Math.min.apply(null, spans.map(function (s) { return s[0]; })),
    last: Math.max.apply(null, spans.map(function (s) { return s[1]; }))}));
})();</script>"""


def page_context() -> dict:
    """The example report's context (reports/examples) with what a real night adds: an hour of work in a 24-hour
    window (one task merged and cleaned since), an open medium misalignment, an untracked worker, a missed wake-up."""
    import json
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    from orchestrator.report import timeline as tl

    ctx = json.loads((Path(__file__).resolve().parent.parent / "reports" / "examples" / "latest.json").read_text())
    end = datetime(2026, 11, 24, 7, 30, tzinfo=timezone.utc)

    def ago(minutes):
        return end - timedelta(minutes=minutes)

    tracks = [tl.Track("T1", "h", None, [(ago(60), "working"), (ago(20), "finished")], [(ago(10), "reviewing")]),
              tl.Track("T2", "h", None, [(ago(55), "working"), (ago(30), "cleanup-needed")], [(ago(35), "merged")],
                       end_at=ago(15)),
              tl.Track("T3", "h", None, [(ago(50), "working"), (ago(25), "stuck")])]
    tasks = [tl.task_history(t, [(ago(60), end)], [ago(5)], end - timedelta(days=1), end) for t in tracks]
    h = {"tasks": tasks, "project": tl.project_summary(tasks, {"h": []}, [ago(40)], []),
         "acks": [tl.iso(ago(5))], "missed_wakeup_at": [tl.iso(ago(40))]}
    ctx.update(overall="review-needed", generated_at=tl.iso(end), timeline={
        **tl.picture(h, end - timedelta(days=1), end, fit=True), "limit_seconds": 10 ** 9, "last_tick_at": tl.iso(end)})
    ctx["trust"] = {"risk": "medium", "claims": [], "open": [{
        "id": 2, "task": "T2", "category": "constraint-violation", "severity": "medium", "evidence_kind": "git",
        "text": "migrations/0003.py modified although --forbid 'migrations/**'", "at": tl.iso(end), "actor": "tick",
        "resolved_at": None, "resolved_note": None}]}
    ctx["untracked_sessions"] = [{"agent": "claude", "cwd": "/home/ana/work/shop-scratch", "state": "working",
                                  "last_activity": tl.iso(ago(3)), "session_id": "5f1c2d3e-aaaa-bbbb-cccc-0123456789ab"}]
    ctx["since_last_ack"].append({"at": tl.iso(ago(40)), "task": None, "kind": "heartbeat", "from": None, "to": None,
                                  "reason": "missed-wakeup", "actor": "tick",
                                  "note": "missed wake-up: the report needed you for 40m and nobody acked"})
    return ctx


def measured(page, profile, width: int) -> tuple[dict, str]:
    """Load `page` in an iframe `width` px wide (headless windows are at least 500 px) and read what MEASURE saw."""
    import json
    import re

    wrapper = page.parent / f"frame-{width}.html"
    wrapper.write_text(f'<!doctype html><body style="margin:0"><iframe id="f" src="{page.name}" style="width:{width}px;'
                       'height:1400px;border:0"></iframe><script>f.onload = function () { var d = f.contentDocument; '
                       'document.body.setAttribute("data-m", d.body.getAttribute("data-m")); '
                       'document.body.setAttribute("data-text", d.body.innerText); };</script></body>')
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--allow-file-access-from-files", f"--user-data-dir={profile}", f"--window-size={max(width, 500) + 20},1500",
         "--virtual-time-budget=3000", "--dump-dom", f"file://{wrapper}"], capture_output=True, text=True, timeout=90)
    import html as html_mod

    found = re.search(r'data-m="([^"]*)"', proc.stdout)
    text = re.search(r'data-text="([^"]*)"', proc.stdout, re.S)
    assert found and text, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(html_mod.unescape(found.group(1))), html_mod.unescape(text.group(1))


def test_page_shows_what_the_markdown_does_and_reads_at_1280_and_420(tmp_path):
    from orchestrator.report.render import render_html, render_markdown

    ctx = page_context()
    html = render_html(ctx)
    md = render_markdown(ctx)
    # 6: what the Markdown report says is on the page too; a missed wake-up reads as one, a cleaned task as cleaned
    assert "untracked workers (1): claude in /home/ana/work/shop-scratch" in md
    assert 'id="untracked"' in html and "/home/ana/work/shop-scratch" in html
    assert 'id="dispatch"' in html and "1 task(s) wait for review" in html
    assert "missed wake-up: the report needed you for 40m" in html and "→ heartbeat" not in html
    row = html[html.index('data-task="T2"'):].split("</svg>")[0]
    assert 'class="pill cleaned"' in row and 'pill cleanup-needed' not in row
    page = tmp_path / "latest.html"
    page.write_text(html.replace("</body>", MEASURE + "</body>"))
    for width in (1280, 420):
        m, text = measured(page, tmp_path / f"profile{width}", width)
        assert m["width"] == width and m["scroll"] <= width, m  # nothing runs off the screen
        # 6: the review-needed and risk pills have colours of their own, not the plain grey of an unknown one
        assert m["review"] != m["plain"] and m["risk"] != m["plain"] and m["review"] != m["risk"], m
        # 7: an hour of work in a 24-hour window fills the axis (it starts at the first activity)
        assert m["first"] <= 0.02 * m["bar"] and m["last"] >= 0.98 * m["bar"], m
        assert "from the first activity of the last 1d" in text
        # 8: task ids as large as the text around them; on a narrow screen every card keeps its field labels
        assert all(own >= around and own >= 13 for own, around in m["ids"]), m["ids"]
        if width == 420:
            assert all(lab.startswith('"') and lab.endswith(': "') for lab in m["labels"]), m["labels"]
            assert {'"task: "', '"next action: "', '"severity: "', '"misalignment: "'} <= set(m["labels"]), m["labels"]
        else:
            assert set(m["labels"]) == {"none"}, m["labels"]  # a table, with its header row
