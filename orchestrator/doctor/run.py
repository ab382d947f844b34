"""`orch doctor`: health checks of the whole set-up, each returning Findings (ok, warn or fail, with a fix)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Callable, Mapping

from orchestrator.doctor.base import STATUSES, Context, Finding, fail  # noqa: F401 - STATUSES is used by the CLI
from orchestrator.doctor.machine_checks import (check_checkout, check_hooks, check_notify, check_reports, check_sessions,
                                               check_skill)
from orchestrator.doctor.ledger_checks import check_config, check_git, check_ledger, check_ticks
from orchestrator.doctor.schedule_checks import check_schedule
from orchestrator.doctor.session_checks import check_session_formats
from orchestrator.doctor.size_checks import check_ledger_size
from orchestrator.errors import UserError
from orchestrator.ledger.connect import first_line
from orchestrator.paths import RepoPaths
from orchestrator.timeutil import utcnow

CHECKS: tuple[Callable[[Context], list[Finding]], ...] = (
    check_git, check_config, check_ledger, check_ledger_size, check_schedule, check_ticks, check_hooks, check_skill,
    check_sessions, check_session_formats, check_reports, check_checkout, check_notify,
)


def run_checks(paths: RepoPaths, db: str | None = None, env: Mapping[str, str] | None = None,
               now: datetime | None = None) -> list[Finding]:
    """Every check in order; a check that breaks becomes a fail finding, never an exception."""
    ctx = Context(paths=paths, db=db, env=os.environ if env is None else env, now=now or utcnow())
    findings: list[Finding] = []
    try:
        for check in CHECKS:
            name = {"ticks": "tick"}.get(check.__name__[6:], check.__name__[6:])
            try:
                findings += check(ctx)
            except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
                detail = str(exc) if isinstance(exc, UserError) else first_line(exc)
                findings.append(fail(name, f"could not check: {detail}",
                                     "fix the cause above, then run `orch doctor` again"))
    finally:
        if ctx.ledger is not None:
            ctx.ledger.close()
    return findings


def exit_code(findings: list[Finding]) -> int:
    return 1 if any(f.status == "fail" for f in findings) else 0
