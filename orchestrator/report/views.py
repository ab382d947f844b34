"""Read-side views of tasks for reports and `--json` output, built from ledger rows."""

from __future__ import annotations

from datetime import datetime

from typing import TYPE_CHECKING

from orchestrator.classify.budget import REASON_ACTION, REASON_OVERALL
from orchestrator.ledger.merged import task_merged
from orchestrator.classify.evidence import ATTENTION, CONDITION_OVERALL, NEXT_ACTION, OVERALL_ORDER
from orchestrator.redact import redact
from orchestrator.timeutil import format_duration, iso, parse_iso_lenient

if TYPE_CHECKING:
    from orchestrator.ledger.models import Task

# Act-now ordering: by overall rank, then the longest waiting first.
_RANK = {c: OVERALL_ORDER.index(o) for c, o in CONDITION_OVERALL.items()}
_RANK_REASON = {r: OVERALL_ORDER.index(o) for r, o in REASON_OVERALL.items()}


def budget_view(budgets: dict, judged: dict) -> dict:
    """A task's budgets as reports show them: `max_runtime`/`review_budget` (None: none), what the last tick saw
    used of each, and the overrun (`over`: runtime or review, `text`: "over its runtime budget: 2h10m of 2h")."""
    out: dict = {"max_runtime": None, "review_budget": None}
    current = set()  # the parts judged against the budget in force (a budget changed since is judged next tick)
    for key, name, part in (("max_runtime_s", "max_runtime", "runtime"), ("review_budget_s", "review_budget", "review")):
        if budgets.get(key):
            out[name] = format_duration(budgets[key])
            seen = judged.get(part) or {}
            if seen.get("budget_s") == budgets[key] and seen.get("used_s") is not None:
                out[f"{part}_used"] = format_duration(seen["used_s"])
                current.add(part)
    if judged.get("over") in current:
        out.update(over=judged["over"], over_at=judged.get("over_at"), text=judged.get("text"))
    return out


def task_record(task: Task) -> dict:
    """The fields of a task row that its view needs, as plain JSON-able data (what the status cache keeps)."""
    return {
        "key": task.key, "title": task.title, "branch": task.branch, "worktree": task.worktree,
        "status": task.status, "condition": task.condition, "reason": task.reason,
        "verdict": (task.extra or {}).get("verdict", {}),
        "condition_since": iso(task.condition_since), "progress_at": iso(task.progress_at),
        "observed_at": iso(task.observed_at), "host": task.host, "package": task.package, "agent": task.agent,
        "base_commit": task.base_commit,
        "stack": {k: v for k, v in ((task.extra or {}).get("stack") or {}).items() if k in ("authority", "instruction")},
        "claims": list((task.extra or {}).get("claims") or []),
        "budgets": {"max_runtime_s": task.max_runtime_s, "review_budget_s": task.review_budget_s},
        "merged": task_merged(task),
        "decision": _decision((task.extra or {}).get("decision")),
        "merge": _merge((task.extra or {}).get("merge")),
    }


def _decision(d: dict | None) -> dict | None:
    """The recorded decision and how it was verified (`verified`, `git`: what git showed), for views."""
    if not d:
        return None
    return {k: d.get(k) for k in ("status", "by", "at", "verified", "how", "ref", "git") if d.get(k) is not None}


def _merge(m: dict | None) -> dict | None:
    """What git showed at the last tick about the task's head and the default branch."""
    if not m:
        return None
    return {k: m.get(k) for k in ("merged", "how", "ref", "text", "head")}


def agent_state_of(verdict: dict) -> str | None:
    """The worker's agent state (hooks included) that the classifier used at the last tick (classify/fuse.py)."""
    return (verdict.get("facts") or {}).get("agent")


def task_view(task: Task | dict, now: datetime) -> dict:
    """A plain dict of one task and its latest verdict, from its row or its record."""
    r = task if isinstance(task, dict) else task_record(task)
    condition = r["condition"] or ("setup-pending" if r["status"] == "setup" else "unknown")
    since = parse_iso_lenient(r["condition_since"])
    evidence = [{**e, "text": redact(e.get("text", ""))} for e in r["verdict"].get("evidence", [])]
    budget = budget_view(r.get("budgets") or {}, r["verdict"].get("budget") or {})
    if budget.get("over") and condition not in ATTENTION:  # only the overrun needs the orchestrator: since then
        since = parse_iso_lenient(budget.get("over_at")) or since
    return {
        "id": r["key"],
        "title": redact(r["title"]) if r["title"] else None,
        "branch": r["branch"],
        "worktree": r["worktree"],
        "status": r["status"],
        "condition": condition,
        "reason": r["reason"],
        "next_action": REASON_ACTION.get(r["reason"]) or NEXT_ACTION.get(condition, "inspect"),
        "evidence": evidence,
        "since": iso(since),
        "for": format_duration(now - since) if since and (now - since).total_seconds() >= 60 else None,
        "progress_at": r["progress_at"],
        "observed_at": r["observed_at"],
        "host": r["host"],
        "package": r["package"],
        "agent": r["agent"],
        "base_commit": r["base_commit"],
        "attention": condition in ATTENTION or bool(budget.get("over")),
        "rank": _RANK_REASON.get(r["reason"], _RANK.get(condition, 99)),
        "budget": budget,
        "authority": (r.get("stack") or {}).get("authority") or "commit",
        "instruction": _first_line((r.get("stack") or {}).get("instruction")),
        "claims": list(r.get("claims") or []),
        "merged": bool(r.get("merged")),
        "decision": r.get("decision"),
        "merge": r.get("merge"),
        "agent_state": agent_state_of(r["verdict"]),
    }


def _first_line(text: str | None, limit: int = 120) -> str | None:
    """The first line of the dispatch instruction, as reports show it."""
    if not text:
        return None
    line = text.strip().splitlines()[0].strip()
    return line if len(line) <= limit else line[:limit - 1] + "…"


def evidence_words(view: dict, limit: int = 2) -> str:
    """The evidence of a verdict in a few words: `git: 3 uncommitted; timing: last progress 25m ago`."""
    parts = [f"{e['kind']}: {e['text']}" for e in view["evidence"][:limit]]
    return "; ".join(parts)


def overall_status(views: list[dict], dispatch_possible: bool, integration_dirty: bool) -> str:
    found = {CONDITION_OVERALL[v["condition"]] for v in views if v["condition"] in CONDITION_OVERALL}
    found |= {REASON_OVERALL[v["reason"]] for v in views if v.get("reason") in REASON_OVERALL}
    if integration_dirty:
        found.add("blocked")
    for name in OVERALL_ORDER[:-2]:
        if name in found:
            return name
    return "dispatch-possible" if dispatch_possible else "quiet"


def task_extras(s, task: Task) -> dict:
    """The agent sessions the last ticks matched to a task, and the latest run of each of its gates."""
    from sqlalchemy import select

    from orchestrator.ledger.models import GateRun, SessionFile

    rows = s.scalars(select(SessionFile).where(SessionFile.task_id == task.id)
                     .order_by(SessionFile.last_activity_at.desc()).limit(5))
    sessions = [{"agent": r.agent, "session_id": r.session_id, "path": r.path, "host": r.host,
                 "last_activity": iso(r.last_activity_at), "tokens": (r.state or {}).get("tokens") or {},
                 "subagent": bool((r.state or {}).get("subagent")),
                 **{k: v for k, v in ((r.state or {}).get("_view") or {}).items() if k in ("state", "observed", "text")}}
                for r in rows]
    latest: dict[str, GateRun] = {}
    for run in s.scalars(select(GateRun).where(GateRun.task_id == task.id).order_by(GateRun.id.desc()).limit(200)):
        latest.setdefault(run.gate, run)
    gates = [{"gate": g, "exit_code": r.exit_code, "timed_out": r.timed_out, "duration_ms": r.duration_ms,
              "commit": r.commit, "at": iso(r.started_at)} for g, r in latest.items()]
    from orchestrator.ledger import misalign

    return {"sessions": sessions, "gate_runs": gates, "misalignments": misalign.list_items(s, task.project, task=task)}


def brief_state(task, default_branch: str) -> dict | None:
    """For `task show` and the JSON: the brief printed last and whether the record changed since (None: never)."""
    if not task.brief:
        return None
    from orchestrator.classify.briefcheck import check
    from orchestrator.ledger.brief import digest, record

    current = digest(record(task, default_branch))
    stale = check(task.brief, current)
    return {"hash": task.brief.get("hash"), "at": task.brief.get("at"), "current": current["hash"],
            "stale": stale is not None, "changed": list(stale.changed) if stale else [],
            **({"text": stale.text} if stale else {})}
