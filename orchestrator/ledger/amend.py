"""Change a task's dispatch record after the fact: budgets, acceptance criteria, constraints, paths, gates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from orchestrator.errors import UserError
from orchestrator.ledger import budgets, stack
from orchestrator.ledger.models import DECIDED_STATUSES, Project, Task
from orchestrator.ledger.record import add_event
from orchestrator.redact import redact

UNSET = object()  # a budget not given (None switches it off)


@dataclass
class Amendment:
    max_runtime: object = UNSET  # timedelta, None (off) or UNSET
    review_budget: object = UNSET
    accept: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)
    gates: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return (self.max_runtime is UNSET and self.review_budget is UNSET
                and not any((self.accept, self.constraints, self.allow, self.forbid, self.gates)))


def _added(old: list, new: list[str]) -> list:
    return list(old) + [x for x in new if x not in old]


def amend(s: Session, proj: Project, t: Task, a: Amendment, now: datetime) -> list[str]:
    """Apply the amendment; returns what changed, in words (also kept as an `amend` event)."""
    if a.empty():
        raise UserError("nothing to change: give --max-runtime, --review-budget, --accept, --constraint, --allow, "
                        "--forbid or --gate")
    if t.status in DECIDED_STATUSES + ("cleaned",):
        raise UserError(f"task {t.key!r} is {t.status}: its record is final")
    done = []
    for name, col in (("max_runtime", "max_runtime_s"), ("review_budget", "review_budget_s")):
        value = getattr(a, name)
        if value is not UNSET:
            assert value is None or isinstance(value, timedelta)
            setattr(t, col, budgets.seconds(value))
            done.append(f"{name.replace('_', '-')} {budgets.words(value)}")
    if a.accept:
        t.accept = _added(t.accept or [], stack.criteria(a.accept)) or None
        if len(t.accept or []) > stack.ACCEPT_MAX:
            raise UserError(f"too many acceptance criteria (at most {stack.ACCEPT_MAX})")
        done.append(f"{len(a.accept)} acceptance criterion(s)")
    if a.constraints:
        st = dict((t.extra or {}).get("stack") or stack.of(t))
        st["constraints"] = _added(st.get("constraints") or [],
                                   [redact(c.strip())[:stack.CONSTRAINT_MAX] for c in a.constraints if c.strip()])
        t.extra = {**(t.extra or {}), "stack": st}
        done.append(f"{len(a.constraints)} constraint(s)")
    for name in ("allow", "forbid", "gates"):
        new = getattr(a, name)
        if new:
            setattr(t, name, _added(getattr(t, name) or [], new))
            done.append(f"{len(new)} {name} entr{'y' if len(new) == 1 else 'ies'}")
    t.updated_at = now
    add_event(s, proj, now, "amend", t, note="; ".join(done), actor="user", host=t.host)
    return done
