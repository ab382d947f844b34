"""Merge the one-row-per-tick observations of ledgers written before observation runs into runs (`orch db prune`).

A row joins the run before it when it says the same (same digest, ledger/record.py) and its tick is the next
ok tick of the same host after the run's last one: exactly what a live tick would have stored. Rows that
cannot be merged keep their facts; each kept row gets its digest, so the next tick can extend it.
"""

from __future__ import annotations

from bisect import bisect_right

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from orchestrator.ledger.models import Observation, Project, Task, Tick
from orchestrator.ledger.record import Seen
from orchestrator.ledger.types import UTCDateTime

_when = UTCDateTime()


def _digest(row) -> str:
    progress = row.progress_at
    if isinstance(progress, str):  # Core rows from SQLite carry text
        progress = _when.process_result_value(progress, None)
    return Seen(condition=row.condition, reason=row.reason, next_action=row.next_action,
                evidence=row.evidence or [], fingerprint=row.fingerprint, progress_at=progress,
                facts=row.facts or {}).digest()


def compact(s: Session, proj: Project) -> int:
    """Merge the project's legacy observation rows into runs; returns how many rows were merged away."""
    O = Observation
    merged = 0
    tasks = list(s.execute(select(Task.id, Task.host).where(Task.project_id == proj.id).order_by(Task.id)))
    ok_ticks: dict[str, list[int]] = {}
    for task_id, host in tasks:
        if s.scalar(select(O.id).where(O.task_id == task_id, O.digest.is_(None)).limit(1)) is None:
            continue
        if host not in ok_ticks:
            ok_ticks[host] = list(s.scalars(select(Tick.id).where(Tick.project_id == proj.id, Tick.host == host,
                                                                  Tick.outcome == "ok").order_by(Tick.id)))
        oks = ok_ticks[host]
        ok_set = set(oks)
        rows = s.execute(select(O.id, O.tick_id, O.last_tick_id, O.at, O.last_at, O.digest, O.condition, O.reason,
                                O.next_action, O.evidence, O.facts, O.fingerprint, O.progress_at)
                         .where(O.task_id == task_id).order_by(O.tick_id, O.id))
        run = None  # [id, first tick, last tick, last at, digest, changed]
        doomed: list[int] = []
        ends: list[dict] = []

        def close(r) -> None:
            if r is not None and r[5]:
                ends.append({"rid": r[0], "last": r[2] if r[2] != r[1] else None, "last_at": r[3], "dg": r[4]})

        for row in rows:
            digest = row.digest or _digest(row)
            if run is not None and row.digest is None and row.last_tick_id is None and digest == run[4]:
                nxt = bisect_right(oks, run[2])
                extends = nxt < len(oks) and oks[nxt] == row.tick_id and (run[2] == run[1] or run[2] in ok_set)
                if extends:
                    run[2], run[3], run[5] = row.tick_id, row.at, True
                    doomed.append(row.id)
                    continue
            close(run)
            run = [row.id, row.tick_id, row.last_tick_id or row.tick_id, row.last_at or row.at, digest,
                   row.digest is None]
        close(run)
        table = O.__table__
        for end in ends:
            values = {"digest": end["dg"]}
            if end["last"] is not None:
                values.update(last_tick_id=end["last"], last_at=end["last_at"])
            s.execute(update(table).where(table.c.id == end["rid"]).values(**values))
        for start in range(0, len(doomed), 500):
            s.execute(delete(table).where(table.c.id.in_(doomed[start:start + 500])))
        merged += len(doomed)
    return merged
