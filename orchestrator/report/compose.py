"""Pure: the report context from the ledger's facts, the settings and the clock (the JSON report is exactly this)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from orchestrator.classify.evidence import CONDITIONS, OVERALL_ORDER
from orchestrator.classify.heartbeat import assess
from orchestrator.redact import redact
from orchestrator.report.advice import dispatch_advice
from orchestrator.report.trustview import by_task
from orchestrator.report.views import overall_status, task_view
from orchestrator.settings import Settings
from orchestrator.timeutil import iso

SCHEMA = 1
FINISHED_LOOKING = ("finished", "reviewing", "finished-uncommitted")
_BLOCKED_RANK = OVERALL_ORDER.index("blocked")  # the Act-now rank a dirty integration checkout takes


def session_problems(h: dict) -> list[str]:
    """Bad input met while reading session logs and hook events, counted and skipped."""
    words = {"bad_lines": "unreadable session-log line(s) skipped", "oversized_lines": "over-long session-log line(s) skipped",
             "unreadable": "session file(s) or folder(s) unreadable", "hook_bad": "unreadable hook event(s) skipped",
             "near_limits": "working session(s) near a context or rate limit (see the task's evidence)",
             "limit_stops": "session(s) stopped by a usage limit or an API error in the last hour"}
    return [f"sessions: {h[k]} {text}" for k, text in words.items() if h.get(k)]


def packages(live: list[dict], registered: list[dict] | None = None) -> list[dict]:
    """Tasks grouped by package (feature lane), each with its count per condition; a package recorded with
    `orch package add` (and open) also carries its status: tasks by group, acceptance gates, what blocks closing."""
    groups: dict[str, Counter] = {}
    for v in live:
        if v.get("package"):
            groups.setdefault(v["package"], Counter())[v["condition"]] += 1
    status = {p["name"]: p for p in registered or []}
    for name in status:
        groups.setdefault(name, Counter())
    out = []
    for name, c in sorted(groups.items()):
        entry = {"package": name, "tasks": sum(c.values()), "conditions": dict(sorted(c.items()))}
        if name in status:
            entry.update(package_entry(status[name]))
        out.append(entry)
    return out


def package_entry(st: dict) -> dict:
    """The report's view of one recorded package (ledger/packages.status), kept small."""
    gates = [{"gate": redact(g["gate"]), "state": g["state"],
              "commit": (g["last_run"] or {}).get("commit"), "at": (g["last_run"] or {}).get("started_at")}
             for g in st["gates"]]
    reviews: dict[str, dict] = {}
    for r in st["reviews"]:
        reviews[r["reviewer"]] = {"reviewer": r["reviewer"], "status": r["status"], "at": r["at"]}
    return {"registered": True, "goal": redact(st["goal"]), "active": st["active"],
            "groups": {k: v for k, v in st["tasks"].items() if v}, "gates": gates,
            "gates_passed": sum(1 for g in gates if g["state"] == "pass"),
            "reviews": list(reviews.values()), "blocks_close": [redact(b) for b in st["blocks_close"]]}


def compose(facts: dict, cfg: Settings, now: datetime) -> dict:
    """Pure: the facts, the settings and the clock give the report context."""
    proj = facts["project"]
    probe_health = facts["probe_health"]
    views = [task_view(r, now) for r in facts["tasks"]]
    live = [v for v in views if v["status"] != "cleaned"]
    dirty = probe_health.get("integration_dirty_count", 0) > 0
    pk = facts.get("packages") or {}
    advice = dispatch_advice(proj["mode"], cfg.max_concurrency, live, dirty, lane=(pk.get("lane") or {}).get("name"))
    overall = overall_status(live, advice["possible"], dirty)
    counts = Counter(v["condition"] for v in live)
    trust = facts.get("trust") or {"risk": "none", "open": []}
    items = by_task(trust)
    for v in live:  # its open high and medium trust items ride on its Act now line
        v["trust"] = [m.get("label") or m.get("category") for m in items.get(v["id"], [])][:4]
        if v["condition"] in FINISHED_LOOKING and any(m["severity"] == "high" for m in items.get(v["id"], [])):
            v["attention"] = True  # finished-looking, but something it did needs a person first
    for v in live:  # a finished-looking task resting on a contradicted claim: the claim is its first evidence
        bad = next((c for c in v.get("claims") or [] if c.get("verdict") == "contradicted"), None)
        if bad is not None and v["condition"] in FINISHED_LOOKING:
            v["evidence"] = [{"kind": "claim", "code": "contradicted",
                              "text": f"claims \"{bad['text']}\" but {bad.get('why')}"}, *v["evidence"]]
            v["attention"] = True
    attention = sorted((v for v in live if v["attention"]), key=lambda v: (v["rank"], v["since"] or ""))
    if dirty:  # it counts as `blocked` (SPEC): after the more urgent waiting-input items, first among the blocked
        first_blocked = next((n for n, a in enumerate(attention) if a["rank"] >= _BLOCKED_RANK), len(attention))
        attention.insert(first_blocked, {"id": "(integration)", "condition": "blocked", "reason": "integration-dirty",
                             "next_action": "commit or clean the integration checkout",
                             "evidence": [{"kind": "git", "code": "dirty",
                                           "text": f"{probe_health['integration_dirty_count']} uncommitted: "
                                                   + ", ".join(probe_health["integration_dirty"][:3])}],
                             "for": None, "attention": True, "rank": _BLOCKED_RANK})
    health = assess(facts["health"], cfg, now, [a for a in attention if a["id"] != "(integration)"])
    if probe_health.get("git_error"):
        health["problems"].append(f"git: {probe_health['git_error']}")
    health["problems"] += session_problems(probe_health.get("sessions") or {})
    return {
        "schema": SCHEMA,
        "project": proj["name"],
        "overall": overall,
        "generated_at": iso(now),
        "verdicts_at": facts["verdicts_at"],
        "tick": facts["tick"],
        "host": facts["host"],
        "tick_host": facts.get("tick_host") or facts["host"],
        "mode": proj["mode"],
        "mode_note": redact(proj["mode_note"]) if proj["mode_note"] else None,
        "counts": {c: counts[c] for c in CONDITIONS if counts.get(c)},
        "act_now": attention,
        "since_last_ack": facts["since_last_ack"],
        "since_last_ack_total": facts["since_last_ack_total"],
        "tasks": live,
        "cleaned": len(views) - len(live),
        "dispatch": advice,
        "packages": packages(live, pk.get("registered")),
        "untracked_sessions": facts["untracked"],
        "untracked_sessions_count": facts.get("untracked_count", len(facts["untracked"])),
        "integration": {"dirty": probe_health.get("integration_dirty", []),
                        "dirty_count": probe_health.get("integration_dirty_count", 0)},
        "health": health,
        "last_ack_at": health.get("last_ack_at"),
        "default_branch": proj["default_branch"],
        "trust": trust,
    }
