"""One heartbeat: probe → classify → record → report, under the tick lock, in one transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from orchestrator import bounded
from orchestrator.errors import InternalError, UserError
from orchestrator.system.files import LinkRefused
from orchestrator.probes.sessions import probe as session_probe
from orchestrator.classify.heartbeat import missed_wakeup
from orchestrator.ledger import heartbeat
from orchestrator.ledger import retention
from orchestrator.ledger import trustcheck
from orchestrator.classify.classifier import classify
from orchestrator.classify.fuse import agent_state
from orchestrator.ledger.models import Task, Tick
from orchestrator.classify.evidence import NEXT_ACTION, TaskInput
from orchestrator.ledger.connect import Ledger
from orchestrator.ledger.health import last_ack as health_last_ack
from orchestrator.ledger.lock import TickSkipped, file_lock, ledger_lock, tick_limit
from orchestrator.probes.git import TaskRef, probe_repo
from orchestrator.tickstart import HeadStart, task_ref
from orchestrator.ledger.record import Seen, apply_git_facts, current_runs, extend_runs, record_verdict
from orchestrator.report import context as report_context
from orchestrator.report import snapshot
from orchestrator.report.compose import compose
from orchestrator.report.write import write_reports
from orchestrator.timeutil import as_utc, iso, utcnow
from orchestrator.report.views import task_view


class ReportsNotWritten(InternalError):
    """The tick committed, but writing latest.* failed (a full disk, a read-only folder...)."""


class ReportsRefused(UserError):
    """The tick committed, but a symbolic link in the reports folder was refused (exit 2)."""


@dataclass
class TickOutcome:
    """What a tick did, for the CLI to print."""

    context: dict
    tick_id: int | None
    written: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    sessions: list[dict] = field(default_factory=list)


def summary(outcome) -> str:
    """`tick 12: blocked (2 to act on, 1 change(s))`: one line per tick for logs and `orch watch`."""
    ctx = outcome.context
    changed = f", {len(outcome.changes)} change(s)" if outcome.changes else ""
    return f"tick {outcome.tick_id}: {ctx.get('overall')} ({len(ctx.get('act_now', []))} to act on{changed})"


def _json_copy(value):
    """The value as the ledger's JSON column gives it back."""
    import json

    return json.loads(json.dumps(value))


def _seen(v) -> Seen:
    """A classifier verdict as the plain data the ledger stores."""
    return Seen(condition=v.condition, reason=v.reason, next_action=v.next_action, evidence=v.evidence_dicts(),
                fingerprint=v.fingerprint, progress_at=v.progress_at, facts=v.facts)


def _refs(s, project_id: int, host: str) -> list[TaskRef]:
    """What to probe: the columns of this host's tasks that the probe needs, as plain rows (no ORM objects)."""
    q = (select(Task.key, Task.branch, Task.worktree, Task.pending_id, Task.base_commit, Task.extra, Task.status)
         .where(Task.project_id == project_id, Task.host == host, Task.status != "cleaned").order_by(Task.id))
    return [task_ref(*row) for row in s.execute(q)]


def run_tick(ledger: Ledger, now: datetime | None = None, dry_run: bool = False,
             head_start: HeadStart | None = None) -> TickOutcome:
    """Run one tick; raises TickSkipped when another tick holds the lock. `head_start`: a git probe started
    early (tickstart.py), used when it was started for the tasks this tick reads."""
    cfg = ledger.settings
    host = cfg.hostname
    clock = as_utc(now) if now else utcnow()
    t0 = time.monotonic()
    try:
        outcome = _tick(ledger, cfg, host, clock, t0, dry_run, head_start)
    except _DryRun as done:  # rolls the transaction back: a dry run writes nothing
        return done.outcome
    except (ReportsNotWritten, ReportsRefused):
        raise  # its tick row says failed already: not noted a second time
    except TickSkipped:
        if not dry_run:
            heartbeat.note_outcome(ledger.paths.state, "skipped", clock=clock)
        raise
    except Exception as exc:
        if not dry_run:
            heartbeat.note_outcome(ledger.paths.state, "failed", f"{type(exc).__name__}: {exc}".splitlines()[0],
                                   clock=clock)
        raise
    _notify(ledger, cfg, outcome, clock)
    return outcome


def _notify(ledger: Ledger, cfg, outcome: TickOutcome, clock: datetime) -> None:
    """Run the configured notification command for transitions that need the orchestrator (after commit)."""
    if not cfg.notify_command:
        return
    from orchestrator.integrations import notify

    views = {t["id"]: t for t in outcome.context.get("tasks", [])}
    items = []
    for ch in notify.attention_only(outcome.changes):
        view = views.get(ch["task"], {})
        items.append({**ch, "next_action": NEXT_ACTION.get(ch["to"], "inspect"), "at": iso(clock),
                      "evidence": "; ".join(e.get("text", "") for e in view.get("evidence", [])[:2]),
                      "project": cfg.project, "report": str(ledger.paths.reports / "latest.md")})
    if items:
        notify.send(cfg, items, ledger.paths.root, ledger.paths.state / "logs" / "notify.log")


def _wakeup(s, proj, host: str, cfg, clock: datetime, tick: Tick, tasks: list[Task]) -> None:
    """Record a missed wake-up: something has needed the orchestrator for `missed_after` with no ack."""
    attention = [v for v in (task_view(t, clock) for t in tasks) if v["attention"]]
    ack = health_last_ack(s, proj)
    info = missed_wakeup(attention, as_utc(ack.at) if ack else None, clock, cfg.missed_after)
    if info is not None:
        heartbeat.record_missed_wakeup(s, proj, host, info, ack, clock, tick)


def _my_tasks(s, project_id: int, host: str, lock: bool = False) -> list[Task]:
    q = select(Task).where(Task.project_id == project_id, Task.host == host, Task.status != "cleaned").order_by(Task.id)
    return list(s.scalars(q.with_for_update() if lock else q))


def _note_on_tick(ledger: Ledger, tick_id: int, msg: str) -> None:
    with ledger.session() as s:
        row = s.get(Tick, tick_id)
        if row is not None:
            row.outcome, row.error = "failed", msg[:500]


class _DryRun(Exception):
    def __init__(self, outcome: TickOutcome):
        self.outcome = outcome


def _tick(ledger: Ledger, cfg, host: str, clock: datetime, t0: float, dry_run: bool,
          head_start: HeadStart | None = None) -> TickOutcome:
    with file_lock(ledger.paths, limit=tick_limit(cfg)):
        # 1. Read what to probe in a short read-only transaction, 2. probe git with no transaction open (it may
        # be slow: nobody waits for it), 3. write everything in one transaction that first re-reads and row-locks
        # the tasks, so that a decision taken during the probe is seen, and one taken later waits and wins.
        with ledger.session(readonly=True) as s:
            proj = ledger.project(s)
            refs = _refs(s, proj.id, host)
            default_branch = proj.default_branch
        probe = head_start.take(refs, default_branch) if head_start is not None else None
        if probe is None:
            probe = probe_repo(ledger.paths.root, refs, default_branch,
                               timeout=cfg.git_timeout.total_seconds(), workers=cfg.workers)
        probed = {r.key for r in refs}
        ledger.stamped = None
        with ledger.session() as s:
            ledger_lock(s, cfg.project, host)
            proj = ledger.project(s)
            # A task dispatched during the probe waits for the next tick; one whose status changed is judged
            # from its new status.
            mine = [t for t in _my_tasks(s, proj.id, host, lock=True) if t.key in probed]
            tick = Tick(project_id=proj.id, host=host, started_at=utcnow(), clock=clock, outcome="ok")
            s.add(tick)
            s.flush()
            heartbeat.ingest_outcomes(s, proj, host, ledger.paths.state, clock, rotate=not dry_run)
            heartbeat.record_gap(s, proj, host, cfg, clock, tick)
            for t in mine:
                facts = probe.facts.get(t.key)
                apply_git_facts(s, proj, t, probe.matched_paths.get(t.key), facts.branch if facts else None,
                                probe.bases.get(t.key), clock, tick)
            paths = {t.id: probe.matched_paths[t.key] for t in mine if t.key in probe.matched_paths}
            agent_probe = session_probe.collect(ledger, s, proj, mine, paths, clock, dry_run,
                                         worktrees=[w.path for w in probe.worktrees])
            th = cfg.thresholds()
            # the agent's state per task, fused from its sessions and hooks with the thresholds (pure, in classify/)
            agents = {t.id: agent_state(tuple(agent_probe.facts.get(t.id, ())), tuple(agent_probe.hooks.get(t.id, ())),
                                        clock, th.wait_after, th.stale_after) for t in mine}
            changes = []
            prev = heartbeat.previous_ok_tick(s, proj, host, tick.id)
            runs, extended = current_runs(s, [t.id for t in mine]), []
            for t in mine:
                inp = TaskInput(key=t.key, status=t.status, branch=t.branch, created_at=as_utc(t.created_at),
                                worktree_recorded=t.worktree is not None, pending_id=t.pending_id,
                                git=probe.facts.get(t.key), sessions=tuple(agent_probe.facts.get(t.id, ())),
                                hooks=tuple(agent_probe.hooks.get(t.id, ())), agent=agents[t.id],
                                prev_fingerprint=t.fingerprint,
                                prev_progress_at=as_utc(t.progress_at) if t.progress_at else None)
                verdict = classify(inp, th, clock)
                ev = record_verdict(s, proj, t, _seen(verdict), clock, tick, run=runs.get(t.id),
                                    prev_tick_id=prev.id if prev else None, extended=extended)
                if ev is not None:
                    changes.append({"task": t.key, "from": ev.from_value, "to": ev.to_value, "reason": ev.reason})
            extend_runs(s, extended, tick, clock)
            trustcheck.run(ledger, s, proj, mine, probe, agents, clock)
            s.flush()
            _wakeup(s, proj, host, cfg, clock, tick, mine)
            pruned = retention.prune(s, proj, host, cfg, clock, tick_id=tick.id)
            probe_health = {
                **bounded.field("integration_dirty", probe.integration_dirty),
                "git_error": probe.error or probe.integration_error,
                "default_head": probe.default_head,
                "sessions": agent_probe.health,
                **({"pruned": pruned} if pruned else {}),
            }
            facts = report_context.gather(s, proj, clock, host, tick_no=tick.id, probe_health=probe_health,
                                          untracked=agent_probe.untracked)
            ctx = compose(facts, cfg, clock)
            picture = report_context.add_timeline(s, proj, cfg, ctx, clock)
            tick.overall = ctx["overall"]
            tick.counts = ctx["counts"]
            tick.health = {**probe_health, **{k: v for k, v in ctx["health"].items() if k != "problems"}}
            tick.finished_at = utcnow()
            tick.duration_ms = int((time.monotonic() - t0) * 1000)
            tick_id = tick.id
            # What `orch status` will read (report/snapshot.py gather): this tick's facts, with its stored health
            status_facts = {**facts, "probe_health": _json_copy(tick.health), "untracked": [], "untracked_count": 0}
            if dry_run:
                ctx["tick"] = None
                raise _DryRun(TickOutcome(context=ctx, tick_id=None, changes=changes, sessions=agent_probe.sessions))
        try:
            written = write_reports(ledger.paths.reports, ctx, keep=cfg.history_keep, html_extra={"timeline": picture})
        except LinkRefused as exc:
            _note_on_tick(ledger, tick_id, str(exc))
            raise ReportsRefused(str(exc)) from None
        except (OSError, UserError) as exc:
            # The verdicts are recorded, the reports are not: the tick's own row becomes the failed tick
            # (once: it is not also noted as a separate failure).
            msg = f"the tick was recorded but its reports were not written: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}" \
                  + (f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else "")
            _note_on_tick(ledger, tick_id, msg)
            raise ReportsNotWritten(msg) from None
    if not snapshot.save_facts(ledger, status_facts, ledger.stamped):
        snapshot.save(ledger, clock)
    return TickOutcome(context=ctx, tick_id=tick_id, written=written, changes=changes, sessions=agent_probe.sessions)
