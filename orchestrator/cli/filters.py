"""`orch task list` filters and its plain one-line-per-task output (for pipes and grep)."""

from __future__ import annotations

from typing import Iterable

from orchestrator.classify.evidence import CONDITIONS  # noqa: F401 - the --condition choices
from orchestrator.cli.conventions import STATUSES
from orchestrator.cli.terminal import COND_STYLE, evidence_text, one_line, paint

# The ledger's task statuses (orchestrator.ledger.models.TASK_STATUSES; a test keeps them equal), without SQLAlchemy.
TASK_STATUSES = STATUSES
COLUMNS = ("task", "status", "condition", "for", "next action", "evidence")



def select(views: list[dict], *, all_: bool = False, conditions: Iterable[str] = (), statuses: Iterable[str] = (),
           attention: bool = False, packages: Iterable[str] = ()) -> list[dict]:
    """The task views that pass every filter given (values of one filter are alternatives)."""
    conditions, statuses, packages = set(conditions), set(statuses), set(packages)
    keep = []
    for v in views:
        if v["status"] == "cleaned" and not (all_ or "cleaned" in statuses):
            continue
        if conditions and v["condition"] not in conditions:
            continue
        if statuses and v["status"] not in statuses:
            continue
        if attention and not v.get("attention"):
            continue
        if packages and (v.get("package") or "") not in packages:
            continue
        keep.append(v)
    return keep


def _cells(v: dict) -> list[str]:
    return [one_line(v["id"], 64), v["status"], v["condition"], v.get("for") or "-", v["next_action"],
            evidence_text(v, limit=1, width=200)]


def plain_lines(views: list[dict], colour: bool = False) -> list[str]:
    """One line per task, columns aligned by padding (never wrapped), a header first; `-` for an empty cell."""
    rows = [_cells(v) for v in views]
    widths = [max(len(c) for c in col) for col in zip(COLUMNS, *rows)]
    out = ["  ".join(h.ljust(w) for h, w in zip(COLUMNS[:-1], widths)) + "  " + COLUMNS[-1]]
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r[:-1], widths)]
        cells[2] = paint(cells[2], COND_STYLE.get(r[2]), colour)
        out.append("  ".join(cells) + "  " + r[-1])
    return out
