"""`orch watch`: the tick on an interval in the foreground (APScheduler 3.x) until a match, a timeout or a signal."""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from orchestrator.errors import UserError
from orchestrator.classify.evidence import ATTENTION, CONDITION_OVERALL, CONDITIONS, OVERALL_ORDER
from orchestrator.ledger.connect import Ledger, first_line
from orchestrator.ledger.lock import TickSkipped
from orchestrator.tick import run_tick, summary as tick_summary
from orchestrator.timeutil import format_duration, parse_duration, parse_iso_lenient
from orchestrator.report.views import evidence_words

MIN_EVERY = timedelta(seconds=1)
POLL_SECONDS = 0.2  # how often the watchdog job looks for a signal or the deadline
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


@dataclass(frozen=True)
class Until:
    """What `--until` waits for: task conditions and overall statuses (a name may be both)."""

    text: str
    conditions: frozenset[str]
    overall: frozenset[str]
    attention: bool = False  # also a task that needs the orchestrator for another reason (over its budget)


def parse_until(text: str | None) -> Until | None:
    """Parse `--until a,b,c`; unknown names are one UserError listing the valid ones."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    valid = ("attention", *CONDITIONS, *(o for o in OVERALL_ORDER if o not in CONDITIONS))
    bad = [n for n in names if n not in valid]
    if bad or not names:
        what = ", ".join(repr(n) for n in bad) if bad else repr(text)
        raise UserError(f"invalid --until {what}: choose from {', '.join(valid)} (comma-separated)")
    conds: set[str] = set()
    overall: set[str] = set()
    for n in names:
        if n == "attention":
            conds.update(ATTENTION)
        if n in CONDITIONS:
            conds.add(n)
        if n in OVERALL_ORDER:
            overall.add(n)
    return Until(text=",".join(names), conditions=frozenset(conds), overall=frozenset(overall),
                 attention="attention" in names)


def parse_every(text: str | None, default: timedelta | None = None) -> timedelta:
    """`--every` (or the configured default), at least one second."""
    every = parse_duration(text, what="--every") if text is not None else default
    if every < MIN_EVERY:
        if text is None:
            raise UserError("tick_interval in config.toml is under 1s: pass --every (at least 1s)")
        raise UserError(f"invalid --every {text!r}: must be at least 1s")
    return every


def matching(context: dict, until: Until) -> list[dict]:
    """The tasks (and act-now entries) that meet `until` in a tick's report context.

    A task counts only if it reached its condition after the last `orch ack`: an orchestrator that
    acted and acknowledged is not woken again for what it has already seen.
    """
    ack = parse_iso_lenient(context.get("last_ack_at"))

    def unseen(t: dict) -> bool:
        since = parse_iso_lenient(t.get("since"))
        return ack is None or since is None or since > ack

    found = [t for t in context.get("tasks", []) if (t.get("condition") in until.conditions
                                                      or (until.attention and t.get("attention"))) and unseen(t)]
    overall = context.get("overall")
    if overall in until.overall:
        seen = {t["id"] for t in found}
        for t in context.get("act_now", []):
            if t["id"] not in seen and CONDITION_OVERALL.get(t.get("condition")) == overall:
                found.append(t)
        if not found:  # e.g. `--until quiet`: the project itself is the match
            found.append({"id": "(overall)", "condition": overall, "reason": "overall-status",
                          "next_action": "none", "evidence": []})
    return found


def task_line(t: dict) -> str:
    """`TASK condition (reason) → next action — evidence`."""
    line = f"{t['id']} {t.get('condition')} ({t.get('reason') or '?'}) → {t.get('next_action') or 'none'}"
    words = evidence_words(t) if t.get("evidence") else ""
    return f"{line} — {words}" if words else line


def clock_text() -> str:
    return datetime.now().strftime("%H:%M:%S")


@dataclass
class WatchResult:
    """How a watch ended: `matched`, `timeout`, `signal` or `error`."""

    reason: str = ""
    ticks: int = 0
    skipped: int = 0
    failed: int = 0
    matched: list[dict] = field(default_factory=list)
    signal: str | None = None
    error: str | None = None
    last_tick: int | None = None
    overall: str | None = None
    elapsed: float = 0.0


class Watcher:
    """Runs `run_tick` on an APScheduler interval; a watchdog job stops it on a signal or the deadline.

    Signal handlers only set an attribute (nothing else is safe in a handler: APScheduler swallows
    exceptions raised in its loop, and its locks are not reentrant). The watchdog job notices within
    POLL_SECONDS and calls `shutdown(wait=False)` from its pool thread; the main thread then waits for
    a running tick to commit (or roll back) before returning, so a report is never left half-written.
    """

    def __init__(self, ledger: Ledger, every: timedelta, until: Until | None = None,
                 timeout: timedelta | None = None, say: Callable[[str], None] = print,
                 tick: Callable[..., object] = run_tick):
        self.ledger = ledger
        self.every = every
        self.until = until
        self.timeout = timeout
        self._say = say
        self._tick = tick
        self.result = WatchResult()
        self._signal: str | None = None  # set by the signal handler, read by the watchdog
        self._reason_lock = threading.Lock()
        self._busy = threading.Lock()  # held while a tick runs
        self._print_lock = threading.Lock()
        self._deadline: float | None = None
        self.scheduler: BlockingScheduler | None = None

    # --- output -----------------------------------------------------------
    def say(self, line: str) -> None:
        with self._print_lock:
            try:
                self._say(line)
            except (BrokenPipeError, ValueError):  # nobody reads our output any more: stop like on SIGPIPE
                if self._signal is None:
                    self._signal = "SIGPIPE"

    # --- stopping ---------------------------------------------------------
    def _finish(self, reason: str, **extra) -> bool:
        """Record why the watch ends (the first reason wins, but a match beats a timeout) and stop."""
        with self._reason_lock:
            if self.result.reason and not (reason == "matched" and self.result.reason == "timeout"):
                return False
            self.result.reason = reason
            for k, v in extra.items():
                setattr(self.result, k, v)
        self._shutdown()
        return True

    def _shutdown(self) -> None:
        try:
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=False)
        except SchedulerNotRunningError:
            pass

    def _on_signal(self, signum, _frame) -> None:
        if self._signal is None:
            self._signal = signal.Signals(signum).name

    def _watchdog(self) -> None:
        if self._signal is not None:
            self._finish("signal", signal=self._signal)
        elif self._deadline is not None and time.monotonic() >= self._deadline:
            self._finish("timeout")

    # --- one tick -------------------------------------------------------
    def _run_one(self) -> None:
        if self.result.reason or self._signal is not None:
            return
        with self._busy:
            if self.result.reason or self._signal is not None:
                return
            self._tick_once()

    def _tick_once(self) -> None:
        try:
            res = self._tick(self.ledger)
        except TickSkipped as skipped:
            self.result.skipped += 1
            self.say(f"{clock_text()} tick skipped: {skipped}")
            return
        except UserError as exc:
            self._finish("error", error=str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a watcher survives a transient failure
            self.result.failed += 1
            self.say(f"{clock_text()} tick failed: {type(exc).__name__}: {first_line(exc)} (will retry)")
            return
        self.result.ticks += 1
        ctx = res.context
        self.result.last_tick = res.tick_id
        self.result.overall = ctx.get("overall")
        self.say(f"{clock_text()} {tick_summary(res)}")
        if self.until is not None:
            found = matching(ctx, self.until)
            if found:
                self._finish("matched", matched=found)

    def _on_event(self, event) -> None:
        if event.job_id != "tick":
            return
        if event.code == EVENT_JOB_MAX_INSTANCES:
            self.say(f"{clock_text()} tick skipped: the previous tick is still running")
        else:
            self.say(f"{clock_text()} tick run missed (the machine slept or was busy); next one on schedule")

    # --- the loop ---------------------------------------------------------
    def run(self) -> WatchResult:
        """Block until a match, the timeout, a signal or a configuration error."""
        log = logging.getLogger("apscheduler")
        log.addHandler(logging.NullHandler())
        log.propagate = False
        utc = timezone.utc
        every_s = self.every.total_seconds()
        self.scheduler = BlockingScheduler(
            timezone=utc,
            executors={"default": ThreadPoolExecutor(1), "watchdog": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        now = datetime.now(utc)
        self.scheduler.add_job(self._run_one, IntervalTrigger(seconds=every_s, timezone=utc), id="tick",
                               next_run_time=now, max_instances=1, coalesce=True,
                               misfire_grace_time=max(1, int(every_s)))
        self.scheduler.add_job(self._watchdog, IntervalTrigger(seconds=POLL_SECONDS, timezone=utc), id="watchdog",
                               executor="watchdog", next_run_time=now, max_instances=1, coalesce=True,
                               misfire_grace_time=None)
        self.scheduler.add_listener(self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        # A signal ignored by whoever started us (`nohup` ignores SIGHUP) stays ignored.
        previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS
                    if signal.getsignal(s) is not signal.SIG_IGN}
        t0 = time.monotonic()
        if self.timeout is not None:
            self._deadline = t0 + self.timeout.total_seconds()
        try:
            self.scheduler.start()
            with self._busy:  # a tick still running commits (or rolls back) before we return
                pass
            if not self.result.reason:  # stopped from outside (should not happen): treat as a signal
                self.result.reason = "signal"
        finally:
            self._shutdown()
            for s, h in previous.items():
                signal.signal(s, h)
        self.result.elapsed = time.monotonic() - t0
        return self.result


def describe(every: timedelta, until: Until | None, timeout: timedelta | None) -> str:
    """The first line: what the watch does and how to stop it."""
    parts = [f"watching every {format_duration(every)}"]
    if until is not None:
        parts.append(f"until {until.text}")
    if timeout is not None:
        parts.append(f"for at most {format_duration(timeout)}")
    return " ".join(parts) + " (Ctrl-C to stop)"
