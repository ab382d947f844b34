"""One heartbeat: probe → classify → record → report, under the tick lock, in one transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import select

from orchestrator import tick_trust
from orchestrator import bounded
from orchestrator.errors import InternalError, UserError
from orchestrator.system.clock import boot_clock
from orchestrator.system.deadline import driver_deadline
from orchestrator.system.files import LinkRefused
from orchestrator.probes import appendlog
from orchestrator import tick_sessions as session_probe
from orchestrator.classify.heartbeat import missed_wakeup
from orchestrator.ledger import heartbeat
from orchestrator.ledger import retention
from orchestrator.ledger import budgets
from orchestrator.classify.budget import Budgets
from orchestrator.classify.classifier import classify
from orchestrator.classify.fuse import agent_state
from orchestrator.ledger.models import Task, Tick
from orchestrator.classify.evidence import NEXT_ACTION, TaskInput
from orchestrator.ledger.connect import Ledger
from orchestrator.ledger.engine import sever
from orchestrator.ledger.health import last_ack as health_last_ack
from orchestrator.ledger.lock import TickSkipped, file_lock, ledger_lock, tick_limit
from orchestrator.probes.git import TaskRef, probe_repo
from orchestrator.probes.merged import probe_merges
from orchestrator.classify import merged as merged_rules
from orchestrator.tickstart import HeadStart, task_ref
from orchestrator.ledger.record import Seen, apply_git_facts, current_runs, extend_runs, record_merge, record_verdict
from orchestrator.report import context as report_context
from orchestrator.report import snapshot
from orchestrator.report.compose import compose
from orchestrator.report.write import write_reports
from orchestrator.timeutil import as_utc, format_duration, iso, utcnow
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


def _merge_queries(refs: list[TaskRef], known: dict, probe) -> list:
    """The tasks whose merge git is asked about this tick: done-looking tasks whose head or default tips moved."""
    from orchestrator.probes.merged import MergeQuery

    out = []
    for r in refs:
        status, base, extra = known[r.key]
        tip = probe.branch_tips.get(r.branch)
        head = tip or extra.get("last_head")
        g = probe.facts.get(r.key)
        if merged_rules.wants_check(status, found=bool(g and g.found), dirty=g.dirty if g else 0,
                                    has_commits=bool(g and g.has_commits), error=g.error if g else None,
                                    head=head, base=base, cached=extra.get("merge"), tips=probe.tips):
            patch = (extra.get("merge") or {}).get("patch") or {}
            known_patch = (tuple(patch["ids"]), tuple(patch["paths"])) if patch.get("head") == head else None
            out.append(MergeQuery(r.key, head, base, "branch" if tip else "last-seen", r.branch if tip else None,
                                  known_patch))
    return out


def _merge_verdict(t: Task, probe, merges: dict):
    """This task's merge verdict: asked of git this tick, or the recorded one while head and tips are unchanged.
    Keeps the last head seen (a branch deleted after merging is judged by it) and the answer with its key."""
    extra = dict(t.extra or {})
    tip = probe.branch_tips.get(t.branch)
    if tip and extra.get("last_head") != tip:
        extra["last_head"] = tip
    head = tip or extra.get("last_head")
    if t.key in merges and merges[t.key].head == head:
        facts = merges[t.key]
        verdict = merged_rules.merge_verdict(facts, t.branch)
        extra["merge"] = {**verdict.to_dict(), "tips": dict(probe.tips)}
        if facts.patch is not None:  # the branch's whole-change patch id: not computed again for this head
            extra["merge"]["patch"] = {"head": head, "ids": list(facts.patch[0]), "paths": list(facts.patch[1])}
    else:
        verdict = merged_rules.cached_verdict(extra.get("merge"), head, probe.tips)
    if extra != (t.extra or {}):
        t.extra = extra
    return verdict


def _seen(v) -> Seen:
    """A classifier verdict as the plain data the ledger stores."""
    return Seen(condition=v.condition, reason=v.reason, next_action=v.next_action, evidence=v.evidence_dicts(),
                fingerprint=v.fingerprint, progress_at=v.progress_at, facts=v.facts)


def _refs(s, project_id: int, host: str) -> tuple[list[TaskRef], dict]:
    """What to probe: the columns of this host's tasks that the probe needs, as plain rows (no ORM objects); and
    each task's (status, base, extra), which the merge check needs."""
    q = (select(Task.key, Task.branch, Task.worktree, Task.pending_id, Task.base_commit, Task.extra, Task.status)
         .where(Task.project_id == project_id, Task.host == host, Task.status != "cleaned").order_by(Task.id))
    refs, known = [], {}
    for row in s.execute(q):
        refs.append(task_ref(*row))
        known[row.key] = (row.status, row.base_commit, dict(row.extra or {}))
    return refs, known


def run_tick(ledger: Ledger, now: datetime | None = None, dry_run: bool = False,
             head_start: HeadStart | None = None) -> TickOutcome:
    """Run one tick; raises TickSkipped when another tick holds the lock. `head_start`: a git probe started
    early (tickstart.py), used when it was started for the tasks this tick reads."""
    cfg = ledger.settings
    host = cfg.hostname
    clock = as_utc(now) if now else utcnow()
    boot = None if now else boot_clock()  # the boot clock's reading, when the tick runs on the real clock
    t0 = time.monotonic()
    try:
        outcome = _bounded_tick(ledger, cfg, host, clock, t0, dry_run, boot, head_start)
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


def _bounded_tick(ledger: Ledger, cfg, host: str, clock: datetime, t0: float, dry_run: bool,
                  boot: dict | None, head_start: HeadStart | None = None) -> TickOutcome:
    """The tick, whose waits for a PostgreSQL ledger end with its time limit (interval + grace): past it, a wait
    that no longer moves (a server gone silent) has its connection cut, and the tick ends with one line saying
    why. Slow probes go on (they have their own timeouts; `orch status` reports a tick past its limit)."""
    if ledger.dialect != "postgresql":
        return _tick(ledger, cfg, host, clock, t0, dry_run, boot, head_start)
    limit = tick_limit(cfg)
    with driver_deadline(limit, cut=lambda: sever(ledger.engine)) as watch:
        try:
            return _tick(ledger, cfg, host, clock, t0, dry_run, boot, head_start)
        except Exception as exc:
            if not watch["expired"]:
                raise
            from orchestrator.ledger.describe import where

            raise InternalError(f"the tick ran past its time limit of {format_duration(limit)} (tick_interval + "
                                f"tick_grace): the ledger {where(ledger.url)} stopped answering; the connection was "
                                "cut and the tick's transaction rolled back (nothing half-written)") from exc


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
          boot: dict | None = None, head_start: HeadStart | None = None) -> TickOutcome:
    with file_lock(ledger.paths, limit=tick_limit(cfg)):
        # 1. Read what to probe in a short read-only transaction, 2. probe git with no transaction open (it may
        # be slow: nobody waits for it), 3. write everything in one transaction that first re-reads and row-locks
        # the tasks, so that a decision taken during the probe is seen, and one taken later waits and wins.
        with ledger.session(readonly=True) as s:
            proj = ledger.project(s)
            refs, known = _refs(s, proj.id, host)
            default_branch = proj.default_branch
        probe = head_start.take(refs, default_branch) if head_start is not None else None
        if probe is None:
            probe = probe_repo(ledger.paths.root, refs, default_branch,
                               timeout=cfg.git_timeout.total_seconds(), workers=cfg.workers)
        merges = probe_merges(str(ledger.paths.root), _merge_queries(refs, known, probe), probe.tips, default_branch,
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
            cursor = heartbeat.outcomes_cursor(s, proj, host)
            log = heartbeat.tick_log(ledger.paths.state)
            records, new_cursor = appendlog.read_new(log.parent, cursor, {}, not dry_run, name=log.name)
            heartbeat.ingest_outcomes(s, proj, host, records, cursor, new_cursor, clock)
            heartbeat.record_gap(s, proj, host, cfg, clock, tick, boot)
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
                merge = _merge_verdict(t, probe, merges)
                git = probe.facts.get(t.key)
                if git is not None and merge is not None:
                    git = replace(git, merged=merge.merged)
                    probe.facts[t.key] = git  # the trust check judges "merged" claims by the same answer
                inp = TaskInput(key=t.key, status=t.status, branch=t.branch, created_at=as_utc(t.created_at),
                                worktree_recorded=t.worktree is not None, pending_id=t.pending_id,
                                git=git, sessions=tuple(agent_probe.facts.get(t.id, ())),
                                hooks=tuple(agent_probe.hooks.get(t.id, ())), agent=agents[t.id],
                                prev_fingerprint=t.fingerprint,
                                prev_progress_at=as_utc(t.progress_at) if t.progress_at else None,
                                budgets=_budget_inputs(t))
                verdict = classify(inp, th, clock)
                if merged_rules.records_merge(t.status, verdict.condition, verdict.reason, merge):
                    # git shows the finished work on the default branch: record the decision, then judge the task
                    # as merged at once (cleanup-needed, or done when nothing is left)
                    record_merge(s, proj, t, merge, clock, tick)
                    verdict = classify(replace(inp, status=t.status), th, clock)
                ev = record_verdict(s, proj, t, _seen(verdict), clock, tick, run=runs.get(t.id),
                                    prev_tick_id=prev.id if prev else None, extended=extended)
                budgets.record(s, proj, t, verdict, clock, tick)
                if ev is not None:
                    changes.append({"task": t.key, "from": ev.from_value, "to": ev.to_value, "reason": ev.reason})
            extend_runs(s, extended, tick, clock)
            tick_trust.run(ledger, s, proj, mine, probe, agents, clock)
            tick_trust.stale_briefs(s, proj, mine, clock)  # briefed on an older version of the record
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


def _budget_inputs(t: Task) -> Budgets:
    """The classifier's budget inputs from a task row: the budgets, when the worker started, when its wait for
    review began."""
    started = t.started_at or (t.created_at if t.status != "setup" else None)
    return Budgets(
        max_runtime=timedelta(seconds=t.max_runtime_s) if t.max_runtime_s else None,
        review=timedelta(seconds=t.review_budget_s) if t.review_budget_s else None,
        started_at=as_utc(started) if started else None,
        review_since=as_utc(t.review_since) if t.review_since else None,
        prev_condition=t.condition)
