"""Render the worker's brief (Markdown, `reports/brief.md.jinja`) from its record: stable, redacted, short."""

from __future__ import annotations

import re

from orchestrator.redact import redact
from orchestrator.timeutil import format_duration

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
INSTRUCTION_LINES = 20  # the brief stays about 80 lines; the whole instruction is in `orch task show`
LIST_MAX = 12
ACCEPT_MAX = 20  # as many as dispatch accepts (ledger/stack.py)
EVIDENCE_LABELS = (
    ("direct", "you checked the thing itself, now (ran the gate on your last commit, read the diff)"),
    ("proxy", "inferred from something near it (an older run, another machine, someone's report)"),
    ("local", "observed on this machine only (a local run, not CI or production)"),
    ("blocked", "could not be checked (say what stopped you; never guess)"),
)
AUTHORITY = {
    "commit": ("commit on your branch", "push, merge, open or merge pull requests, touch other branches"),
    "push": ("commit on your branch and push it", "merge, merge pull requests, touch other branches"),
    "merge": ("commit, push your branch and merge it when the gates pass", "touch other branches"),
}


def clean(value, limit: int = 300) -> str:
    """One line of untrusted text: redacted, no control characters, bounded."""
    text = " ".join(_CONTROL.sub("", redact(str(value if value is not None else ""))).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code(value, limit: int = 200) -> str:
    """A path, glob or command shown as inline code (backticks in it are doubled around)."""
    text = clean(value, limit)
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _bounded(items: list, limit: int = LIST_MAX) -> tuple[list, int]:
    return list(items[:limit]), max(0, len(items) - limit)


def context(rec: dict, brief_hash: str) -> dict:
    """What the template shows, from the brief record (ledger/brief.py) and its hash; no clock."""
    lines = [clean(x, 300) for x in (rec["instruction"] or "").strip().splitlines()] if rec["instruction"] else []
    may, may_not = AUTHORITY.get(rec["authority"], AUTHORITY["commit"])
    rules = rec.get("rules") or {}
    files = rules.get("files") or []
    lists = {}
    for name in ("accept", "allow", "forbid", "constraints", "gates"):  # every criterion: the review checks each
        lists[name], lists[f"{name}_more"] = _bounded(rec[name], ACCEPT_MAX if name == "accept" else LIST_MAX)
    return {
        **lists,
        "task": clean(rec["task"], 100), "title": clean(rec["title"], 200) if rec["title"] else None,
        "instruction": lines[:INSTRUCTION_LINES], "instruction_more": max(0, len(lines) - INSTRUCTION_LINES),
        "branch": rec["branch"], "worktree": rec["worktree"], "base": rec["base"],
        "base_provisional": rec["base_provisional"], "default_branch": clean(rec["default_branch"], 100),
        "package": rec.get("package"), "authority": rec["authority"], "may": may, "may_not": may_not,
        "rule_files": files[:6], "rule_files_more": max(0, len(files) - 6),
        "max_runtime": format_duration(rec["max_runtime_s"]) if rec["max_runtime_s"] else None,
        "review_budget": format_duration(rec["review_budget_s"]) if rec["review_budget_s"] else None,
        "labels": EVIDENCE_LABELS, "hash": brief_hash,
    }


def render(rec: dict, brief_hash: str) -> str:
    from orchestrator.report.render import environment

    tpl = environment().get_template("brief.md.jinja")
    return tpl.render(**context(rec, brief_hash), clean=clean, code=code)
