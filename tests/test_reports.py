"""Reports: the shape the skill relies on, size bounds, quiet ticks, atomic writes, escaping, history."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone


from orchestrator.ledger.connect import open_ledger
from orchestrator.paths import find_repo
from orchestrator.ledger.tasks import DispatchRequest, dispatch
from orchestrator.timeutil import utcnow


def front_matter(md: str) -> dict:
    m = re.match(r"^---\n(.*?)\n---\n", md, re.S)
    assert m, md[:200]
    out = {}
    for line in m.group(1).splitlines():
        key, _, value = line.partition(": ")
        out[key] = value
    return out


def bulk(r, monkeypatch, n: int) -> None:
    """Make n worktrees (a third dirty, a third with commits, a third idle) and record them in-process."""
    monkeypatch.setenv("ORCH_HOST", "test-host")
    specs = []
    for i in range(n):
        name = f"task-{i:03d}"
        wt = r.worktree(name)
        if i % 3 == 0:
            r.write(wt, f"src/module_{i}.py", "x = 1\n")
        elif i % 3 == 1:
            r.commit(wt, f"src/feature_{i}.py", "y = 2\n")
        specs.append((name, wt))
    ledger = open_ledger(find_repo(r.root))
    try:
        with ledger.session() as s:
            proj = ledger.project(s)
            for name, wt in specs:
                dispatch(ledger, s, proj, DispatchRequest(key=name, branch=name, worktree=str(wt),
                                                          title=f"Implement part {name} of the big feature"), utcnow())
    finally:
        ledger.close()


def test_front_matter_and_sections(repo):
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "f.py", "1\n")
    r.dispatch("T1", "w", wt)
    r.orch("tick")
    md = r.report()
    fm = front_matter(md)
    assert fm["overall"] == "review-needed"
    assert fm["tick"] == "1"
    assert fm["counts"] == "{ finished: 1 }"
    datetime.fromisoformat(fm["generated_at"].replace("Z", "+00:00"))
    assert md.index("## Act now") < md.index("## Since last ack") < md.index("## Dispatch")
    assert "1. **T1** finished (committed-clean) → review" in md
    data = r.report_json()
    assert data["schema"] == 1 and data["overall"] == "review-needed"
    html = (r.root / ".orch" / "reports" / "latest.html").read_text()
    assert "<title>orch: review-needed" in html


def test_hundred_tasks_stay_under_12kb_and_quiet_ticks_are_short(repo, monkeypatch):
    r = repo
    bulk(r, monkeypatch, 100)
    r.orch("tick")
    md = r.report()
    assert len(md.encode()) < 12_000, len(md.encode())
    # Worst case: every task needs attention (stuck or finished) and nothing is acknowledged.
    later = (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r.orch("tick", "--now", later)
    md = r.report()
    data = r.report_json()
    assert sum(1 for t in data["tasks"] if t["attention"]) == 100
    assert len(md.encode()) < 12_000, len(md.encode())
    # Acknowledged and nothing changed since: a report of a few lines.
    r.orch("ack")
    r.orch("tick", "--now", later)
    r.orch("task", "set", "task-000", "abandoned")
    r.orch("ack")
    quiet = r.report()
    assert len(quiet.splitlines()) < 120


def test_quiet_tick_is_a_few_lines(repo):
    r = repo
    wt = r.worktree("w")
    r.write(wt, "a.py", "1\n")
    r.dispatch("T1", "w", wt)
    r.orch("tick")
    r.orch("ack")
    r.orch("tick")
    md = r.report()
    body = md.split("---\n", 2)[2]
    assert "Nothing needs you: 1 working." in body
    assert len([l for l in body.splitlines() if l.strip()]) <= 5, body


def test_reports_are_written_atomically_with_bounded_history(repo):
    r = repo
    r.set_config(history_keep=3)
    for _ in range(5):
        r.orch("tick")
    reports = r.root / ".orch" / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["history", "latest.html", "latest.json", "latest.md"]
    assert len(list((reports / "history").iterdir())) == 3
    assert not [p for p in reports.rglob(".*.tmp")]
    json.loads((reports / "latest.json").read_text())
    assert (reports / "latest.md").stat().st_mode & 0o777 == 0o644


def test_dry_run_writes_nothing(repo):
    r = repo
    wt = r.worktree("w")
    r.dispatch("T1", "w", wt)
    before = (r.root / ".orch" / "ledger.db").read_bytes()
    proc = r.orch("tick", "--dry-run")
    assert "tick: dry-run" in proc.stdout and "**T1**" not in proc.stdout or "T1" in proc.stdout
    assert not (r.root / ".orch" / "reports" / "latest.md").exists()
    assert r.orch_json("task", "show", "T1")["observations"] == []
    assert (r.root / ".orch" / "ledger.db").read_bytes() == before


def test_untrusted_text_is_escaped_and_secrets_redacted(repo):
    r = repo
    wt = r.worktree("w")
    r.write(wt, "<img src=x onerror=alert(1)>.txt", "x\n")
    r.write(wt, "notes/api_key=sk-abcdefghijklmnopqrstuvwx.txt", "x\n")
    r.dispatch("T1", "w", wt, "--title", "<script>alert('x')</script> token=ghp_abcdefghijklmnopqrstuvwxyz0123")
    r.orch("tick", "--now", (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    reports = r.root / ".orch" / "reports"
    html = (reports / "latest.html").read_text()
    md = (reports / "latest.md").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in md
    for text in (html, md, (reports / "latest.json").read_text()):
        assert "sk-abcdefghijklmnopqrstuvwx" not in text
        assert "ghp_abcdefghijklmnopqrstuvwxyz0123" not in text
