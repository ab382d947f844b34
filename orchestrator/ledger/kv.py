"""Small per-project, per-host values in the ledger: scan cursors, schedule facts, log offsets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.ledger.models import KeyValue, Project


def get(s: Session, proj: Project, host: str, key: str) -> dict:
    row = s.scalars(select(KeyValue).where(KeyValue.project_id == proj.id, KeyValue.host == host,
                                           KeyValue.key == key)).first()
    return dict(row.value) if row is not None else {}


def put(s: Session, proj: Project, host: str, key: str, value: dict, now: datetime) -> None:
    row = s.scalars(select(KeyValue).where(KeyValue.project_id == proj.id, KeyValue.host == host,
                                           KeyValue.key == key)).first()
    if row is None:
        s.add(KeyValue(project_id=proj.id, host=host, key=key, value=value, updated_at=now))
    else:
        row.value = value
        row.updated_at = now
