"""Shared pieces of `orch doctor`: a finding, what the checks look at, and the three verdicts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Mapping

from orchestrator.settings import Settings
from orchestrator.ledger.connect import Ledger
from orchestrator.paths import RepoPaths

MIN_GIT = (2, 38)

STATUSES = ("ok", "warn", "fail")


@dataclass
class Finding:
    """One result: which check, ok/warn/fail, what was found, and for warn/fail the fix."""

    check: str
    status: str
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Context:
    """What the checks look at; `ledger` and `project_id` stay None when the ledger cannot be used."""

    paths: RepoPaths
    db: str | None
    env: Mapping[str, str]
    now: datetime
    config: Settings | None = None
    ledger: Ledger | None = None
    project_id: int | None = None


def ok(check: str, detail: str) -> Finding:
    return Finding(check, "ok", detail)


def warn(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, "warn", detail, fix)


def fail(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, "fail", detail, fix)


