"""SQLAlchemy 2 typed models of the ledger: projects, tasks, ticks, observations, events, sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from orchestrator.ledger.types import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite autoincrement needs the type name INTEGER exactly.
BigId = BigInteger().with_variant(Integer(), "sqlite")

TASK_STATUSES = ("setup", "active", "reviewing", "merged", "rejected", "blocked", "abandoned", "cleaned")
SETTABLE_STATUSES = ("active", "reviewing", "merged", "rejected", "blocked", "abandoned")
DECIDED_STATUSES = ("merged", "rejected", "abandoned")
OPEN_STATUSES = tuple(s for s in TASK_STATUSES if s not in DECIDED_STATUSES + ("cleaned",))
MODES = ("active", "drain", "paused")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


class Project(Base):
    """One orchestrated repository; a shared ledger may hold several, by name."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    default_branch: Mapped[str] = mapped_column(String(255), default="main")
    mode: Mapped[str] = mapped_column(String(16), default="active")
    mode_note: Mapped[str | None] = mapped_column(Text)
    mode_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Task(Base):
    """A bounded piece of work handed to one worker in one worktree and branch."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("project_id", "key", name="uq_tasks_project_key"),
                      UniqueConstraint("project_id", "open_branch", name="uq_tasks_open_branch"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(Text)
    branch: Mapped[str] = mapped_column(String(255))
    worktree: Mapped[str | None] = mapped_column(Text)
    pending_id: Mapped[str | None] = mapped_column(String(255))
    base_commit: Mapped[str | None] = mapped_column(String(64))
    base_ref: Mapped[str | None] = mapped_column(String(255))
    package: Mapped[str | None] = mapped_column(String(200))
    allow: Mapped[list[Any]] = mapped_column(default=list)
    forbid: Mapped[list[Any]] = mapped_column(default=list)
    gates: Mapped[list[Any]] = mapped_column(default=list)
    agent: Mapped[str] = mapped_column(String(16), default="other")
    thread_id: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    status_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The latest verdict, denormalised from observations for cheap reads.
    condition: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64))
    condition_since: Mapped[datetime | None]
    progress_at: Mapped[datetime | None]
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    observed_at: Mapped[datetime | None]
    merged_at: Mapped[datetime | None]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The branch while the task is open, else NULL: the unique constraint lets one open task own a branch.
    open_branch: Mapped[str | None] = mapped_column(String(255))
    # Budgets (seconds; NULL: none) and their clocks: the worker's start, the start of its wait for review.
    max_runtime_s: Mapped[int | None]
    review_budget_s: Mapped[int | None]
    started_at: Mapped[datetime | None]
    review_since: Mapped[datetime | None]
    accept: Mapped[list[Any] | None] = mapped_column(JSONType)  # acceptance criteria the review checks
    brief: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # the brief last printed: {hash, parts, at}

    project: Mapped[Project] = relationship()


@event.listens_for(Task, "before_insert")
def _own_branch_on_insert(_mapper, _conn, task: Task) -> None:
    task.open_branch = task.branch if task.status in OPEN_STATUSES else None


@event.listens_for(Task, "before_update")
def _own_branch_on_status(_mapper, _conn, task: Task) -> None:
    if inspect(task).attrs.status.history.has_changes():
        task.open_branch = task.branch if task.status in OPEN_STATUSES else None


class Tick(Base):
    """One heartbeat: when it ran, on which host, how it ended, the overall status."""

    __tablename__ = "ticks"
    __table_args__ = (Index("ix_ticks_project_started", "project_id", "started_at"),
                      Index("ix_ticks_project_host_clock", "project_id", "host", "clock"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime]
    clock: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    overall: Mapped[str | None] = mapped_column(String(32))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    health: Mapped[dict[str, Any]] = mapped_column(default=dict)
    duration_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)


class Observation(Base):
    """A run of identical verdicts of one task: from its first tick (`tick_id`, `at`) to its last
    (`last_tick_id`, `last_at`; NULL when the run is that one tick), with the evidence it rests on."""

    __tablename__ = "observations"
    __table_args__ = (Index("ix_observations_task_tick", "task_id", "tick_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tick_id: Mapped[int] = mapped_column(ForeignKey("ticks.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    condition: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(64))
    next_action: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    progress_at: Mapped[datetime | None]
    last_tick_id: Mapped[int | None] = mapped_column(BigInteger)
    last_at: Mapped[datetime | None]
    digest: Mapped[str | None] = mapped_column(String(64))  # what "identical" compares (ledger/record.py)


class Event(Base):
    """Every transition and decision: condition changes, status changes, dispatches, acks, modes."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_project_kind", "project_id", "kind", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    tick_id: Mapped[int | None] = mapped_column(ForeignKey("ticks.id", ondelete="SET NULL"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    from_value: Mapped[str | None] = mapped_column(String(64))
    to_value: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(32), default="tick")
    host: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SessionFile(Base):
    """An agent session log on one host, with the read offset and parse state for incremental reads."""

    __tablename__ = "session_files"
    __table_args__ = (UniqueConstraint("host", "path", name="uq_session_files_host_path"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text)
    agent: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str | None] = mapped_column(String(255), index=True)
    cwd: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"), index=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    inode: Mapped[int | None] = mapped_column(BigInteger)
    mtime: Mapped[float | None]
    head_hash: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_activity_at: Mapped[datetime | None]
    first_seen: Mapped[datetime]
    updated_at: Mapped[datetime]


class HookEvent(Base):
    """An event an agent's hook passed to `orch hook`, matched to a task by its cwd."""

    __tablename__ = "hook_events"
    __table_args__ = (Index("ix_hook_events_task_at", "task_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]
    agent: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(255))
    cwd: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class GateRun(Base):
    """One run of a task's recorded gate command, asked for by a person."""

    __tablename__ = "gate_runs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    gate: Mapped[str] = mapped_column(Text)
    commit: Mapped[str | None] = mapped_column(String(64))
    exit_code: Mapped[int | None]
    timed_out: Mapped[bool] = mapped_column(default=False)
    duration_ms: Mapped[int | None]
    output_tail: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime]


class KeyValue(Base):
    """Small per-project, per-host state: scan cursors, schedule facts, hook log offsets."""

    __tablename__ = "kv"
    __table_args__ = (UniqueConstraint("project_id", "host", "key", name="uq_kv_project_host_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(String(255), default="")
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class Package(Base):
    """A feature package: a goal, a spec, acceptance gates; tasks join it by name (Task.package)."""

    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_packages_project_name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str] = mapped_column(Text)
    spec: Mapped[str | None] = mapped_column(Text)  # path of the kept spec, relative to the integration checkout
    accept: Mapped[list[Any]] = mapped_column(default=list)  # acceptance gate commands
    status: Mapped[str] = mapped_column(String(16), default="open")  # open or closed
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    close_note: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PackageGateRun(Base):
    """One run of a package's acceptance gate on the integration checkout, asked for by a person."""

    __tablename__ = "package_gate_runs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"), index=True)
    gate: Mapped[str] = mapped_column(Text)
    commit: Mapped[str | None] = mapped_column(String(64))
    branch: Mapped[str | None] = mapped_column(String(255))
    dirty: Mapped[bool] = mapped_column(default=False)
    exit_code: Mapped[int | None]
    timed_out: Mapped[bool] = mapped_column(default=False)
    duration_ms: Mapped[int | None]
    output_tail: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime]


class Misalignment(Base):
    """A finding that a worker strayed from what it was given or said: recorded once, kept until resolved."""

    __tablename__ = "misalignments"
    __table_args__ = (UniqueConstraint("project_id", "dedupe_key", name="uq_misalignments_project_key"),
                      Index("ix_misalignments_project_resolved", "project_id", "resolved_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    evidence_kind: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(32), default="tick")
    detail: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # {label, next, pointer}
