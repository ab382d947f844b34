"""Import a codex-orchestrator ledger (`.codex-orchestrator/ledger.json` + `events.jsonl`) into orch's ledger."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.settings import save_settings, with_values
from orchestrator.ledger.models import DECIDED_STATUSES, MODES, Event, Project, Task
from orchestrator.errors import UserError
from orchestrator.system.gitrun import run_git
from orchestrator.ledger.connect import Ledger
from orchestrator.ledger.record import add_event
from orchestrator.ledger.tasks import default_base
from orchestrator.timeutil import iso, parse_iso

SOURCE = "codex-orchestrator"
SUPPORTED_VERSIONS = (1,)
STATUS_MAP = {
    "pending-setup": "setup", "active": "active", "stale-needs-inspection": "active",
    "completed-unreviewed": "active", "reviewing": "reviewing", "merged": "merged", "released": "merged",
    "rejected": "rejected", "cleanup-needed": None, "cleaned": "cleaned", "blocked": "blocked",
    "abandoned": "abandoned",
}
_DECIDED_ORIG = {"merged": "merged", "released": "merged", "rejected": "rejected", "abandoned": "abandoned"}
_HEX = re.compile(r"^[0-9a-fA-F]{7,64}$")
_KEEP = ("budget", "evidence", "constraintStack", "lastObservation")
_ENTRY_KEYS = ("type", "status", "note", "taskId", "pendingWorktreeId", "worktree", "branch")


@dataclass
class Source:
    """The files read: the ledger document, its events.jsonl lines, and how many lines were unreadable."""

    ledger_file: Path
    data: dict
    events_file: Path | None = None
    events: list[dict] = field(default_factory=list)
    bad_lines: int = 0


@dataclass
class Outcome:
    source: str
    dry_run: bool
    imported: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)
    events: int = 0
    project_events: int = 0
    heartbeats_skipped: int = 0
    bad_event_lines: int = 0
    settings: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def load_source(path: Path) -> Source:
    """Read PATH (a `.codex-orchestrator` folder, or its ledger.json); one clear UserError when it is unusable."""
    path = Path(os.path.expanduser(str(path)))
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_dir():
        for cand in (path / "ledger.json", path / ".codex-orchestrator" / "ledger.json"):
            if cand.is_file():
                path = cand
                break
        else:
            raise UserError(f"{path}: no ledger.json in this folder (give the .codex-orchestrator folder or its ledger.json)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a codex-orchestrator ledger (not UTF-8 text)") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a codex-orchestrator ledger (expected a JSON object)")
    version = data.get("version", 1)
    if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
        raise UserError(f"{path}: unsupported ledger version {version!r} (orch imports version 1)")
    if not isinstance(data.get("tasks"), list):
        raise UserError(f"{path}: not a codex-orchestrator ledger (no \"tasks\" list)")
    src = Source(ledger_file=path.resolve(), data=data)
    events = path.parent / "events.jsonl"
    if events.is_file():
        src.events_file = events.resolve()
        try:
            with events.open("rb") as fh:
                for raw in fh:
                    if not raw.strip():
                        continue
                    try:
                        obj = json.loads(raw.decode("utf-8"))
                    except (UnicodeDecodeError, json.JSONDecodeError):
                        src.bad_lines += 1
                        continue
                    if isinstance(obj, dict):
                        src.events.append(obj)
                    else:
                        src.bad_lines += 1
        except OSError as exc:
            raise UserError(f"{events}: cannot read ({exc.strerror or exc})") from None
    return src


def sanitize_key(raw: object) -> str:
    """A task id that orch accepts: letters, digits, '.', '_', '-'; at most 64; starts with a letter or digit."""
    key = re.sub(r"[^A-Za-z0-9._-]+", "-", str(raw).strip())
    return key.lstrip("._-")[:64].rstrip("-") or ""


def _ts(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_iso(value)
    except UserError:
        return None


def _text(value: object, limit: int | None = None) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value)
    return text[:limit] if limit else text


def _globs(value: object) -> list[str]:
    return [str(v) for v in value if isinstance(v, (str, int, float))] if isinstance(value, list) else []


def _status(orig: str, history: list[dict]) -> str | None:
    if orig != "cleanup-needed":
        return STATUS_MAP.get(orig)
    for entry in reversed(history):
        decided = _DECIDED_ORIG.get(str(entry.get("status")))
        if decided:
            return decided
    return "active"


def _entry_fp(entry: dict) -> tuple:
    return (str(entry.get("at")), str(entry.get("type")), str(entry.get("status")), str(entry.get("note")))


def _entry_data(entry: dict, origin: str) -> dict:
    return {"source": origin, **{k: entry[k] for k in _ENTRY_KEYS if k in entry}}


def _worktree(value: object, project_root: object, fallback: Path) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    path = Path(os.path.expanduser(value.strip()))
    if not path.is_absolute():
        base = Path(project_root) if isinstance(project_root, str) and project_root else fallback
        path = base / path
    return os.path.realpath(path)


def _plan_task(ledger: Ledger, proj: Project, src: Source, raw: dict, key: str, now: datetime) -> dict:
    """The fields of the orch Task for one codex-orchestrator task (validated by the caller)."""
    data = src.data
    history = [h for h in raw.get("history") or [] if isinstance(h, dict)]
    orig_status = str(raw.get("status") or "active")
    status = _status(orig_status, history)
    stamps = [t for t in (_ts(h.get("at")) for h in history) if t is not None]
    last_obs = raw.get("lastObservation") if isinstance(raw.get("lastObservation"), dict) else {}
    created = min(stamps) if stamps else (_ts(data.get("createdAt")) or now)
    updated = max(stamps + [t for t in (_ts(last_obs.get("at")),) if t is not None], default=created)
    extra: dict = {"imported": {"from": SOURCE, "id": raw["id"], "status": orig_status, "source": str(src.ledger_file),
                                **{k: raw[k] for k in _KEEP if raw.get(k) is not None}}}
    worktree = _worktree(raw.get("worktree"), data.get("projectRoot"), ledger.paths.root)
    if status == "setup" and worktree:
        extra["imported"]["worktree"] = worktree  # matched again by branch or pending id when it appears
        worktree = None
    base = str(raw.get("baseCommit") or "")
    if not _HEX.fullmatch(base):
        try:
            base, provisional = default_base(ledger, str(raw["branch"]), proj.default_branch)
        except UserError:
            base, provisional = None, False
        if provisional:
            extra["base_provisional"] = True
    pending = _text(raw.get("pendingWorktreeId"), 255)
    write_set = raw.get("writeSet") if isinstance(raw.get("writeSet"), dict) else {}
    return dict(project_id=proj.id, key=key, title=_text(raw.get("title")), branch=str(raw["branch"]),
                worktree=worktree, pending_id=pending, base_commit=base, base_ref=proj.default_branch,
                package=_text(raw.get("packageId"), 200), allow=_globs(write_set.get("allowed")),
                forbid=_globs(write_set.get("forbidden")),
                gates=_globs(raw.get("gates")), agent="codex", thread_id=_text(raw.get("threadId"), 255),
                host=ledger.settings.hostname, status=status,
                status_note=f"imported from {SOURCE} (status {orig_status})", created_at=created, updated_at=updated,
                condition="done" if status == "cleaned" else None, reason="imported" if status == "cleaned" else None,
                condition_since=updated if status == "cleaned" else None, extra=extra, **_budget(raw.get("budget")))


def _budget(value: object) -> dict:
    """`budget{maxRuntimeMinutes, reviewBudgetMinutes}` as the task's budgets in seconds (missing or bad: none)."""
    out = {}
    if isinstance(value, dict):
        for src, col in (("maxRuntimeMinutes", "max_runtime_s"), ("reviewBudgetMinutes", "review_budget_s")):
            minutes = value.get(src)
            if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and 0 < minutes <= 5_256_000:
                out[col] = max(1, int(minutes * 60))
    return out


def _invalid(raw: object, ledger: Ledger, seen: set[str]) -> str | None:
    """Why a task entry cannot be imported, or None."""
    if not isinstance(raw, dict):
        return "not a JSON object"
    tid = raw.get("id")
    if tid is None or isinstance(tid, (bool, dict, list)) or not str(tid).strip():
        return "no id"
    if str(tid) in seen:
        return "duplicate id"
    branch = raw.get("branch")
    if not isinstance(branch, str) or not branch.strip():
        return "no branch"
    if len(branch) > 255 or branch.startswith("-") or not run_git(ledger.paths.root, "check-ref-format", "--branch", branch).ok:
        return f"invalid branch name {branch!r}"
    status = str(raw.get("status") or "active")
    if status not in STATUS_MAP:
        return f"unknown status {status!r}"
    if not sanitize_key(tid):
        return f"id {tid!r} has no usable characters"
    return None


def run_import(ledger: Ledger, path: Path, now: datetime, dry_run: bool = False,
               apply_settings: bool = False) -> Outcome:
    """Create orch tasks and events from a codex-orchestrator ledger; tasks already present are skipped."""
    src = load_source(path)
    res = Outcome(source=str(src.ledger_file), dry_run=dry_run, bad_event_lines=src.bad_lines)
    data = src.data
    mode = data.get("dispatchMode")
    maxc = data.get("maxConcurrency")
    res.settings = {"dispatch_mode": mode if mode in MODES else None, "dispatch_note": _text(data.get("dispatchNote")),
                    "max_concurrency": maxc if isinstance(maxc, int) and not isinstance(maxc, bool) and maxc >= 0
                    else None, "applied": False}
    with ledger.session(readonly=dry_run) as s:
        proj = ledger.project(s)
        existing = {t.key: t for t in s.scalars(select(Task).where(Task.project_id == proj.id))}
        live_branch = {t.branch: t.key for t in existing.values() if t.status not in DECIDED_STATUSES + ("cleaned",)}
        taken: set[str] = set(existing)
        seen: set[str] = set()
        created: dict[str, Task | None] = {}
        fps: dict[str, set[tuple]] = {}
        for index, raw in enumerate(data["tasks"], start=1):
            why = _invalid(raw, ledger, seen)
            label = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") is not None else f"#{index}"
            if why:
                res.invalid.append({"original_id": label, "index": index, "reason": why})
                continue
            orig = str(raw["id"])
            seen.add(orig)
            key, why = _pick_key(orig, existing, taken)
            if why is not None:
                res.skipped.append({"id": key, "original_id": orig, "reason": why})
                continue
            fields = _plan_task(ledger, proj, src, raw, key, now)
            live = fields["status"] not in DECIDED_STATUSES + ("cleaned",)
            if live and fields["branch"] in live_branch:
                res.skipped.append({"id": key, "original_id": orig,
                                    "reason": f"branch {fields['branch']} already belongs to task {live_branch[fields['branch']]}"})
                continue
            taken.add(key)
            if live:
                live_branch[fields["branch"]] = key
            history = [h for h in raw.get("history") or [] if isinstance(h, dict)]
            fps[orig] = {_entry_fp(h) for h in history}
            task = None
            if not dry_run:
                task = Task(**fields)
                s.add(task)
                s.flush()
            created[orig] = task
            for h in history:
                _add(s, proj, task, h, "history", fields["created_at"], ledger, dry_run)
            res.imported.append({"id": key, "original_id": orig, "status": fields["status"],
                                 "original_status": fields["extra"]["imported"]["status"], "branch": fields["branch"],
                                 "worktree": fields["worktree"], "pending_id": fields["pending_id"],
                                 "created_at": iso(fields["created_at"]), "events": len(history)})
        by_orig = {r["original_id"]: r for r in res.imported}
        known_ids = {str(t.get("id")) for t in data["tasks"] if isinstance(t, dict)}
        seen_project = _imported_project_lines(s, proj)
        for line in src.events:
            tid = str(line.get("taskId")) if line.get("taskId") is not None else None
            if tid in created:
                if _entry_fp(line) in fps[tid]:
                    continue
                fps[tid].add(_entry_fp(line))
                _add(s, proj, created[tid], line, "events.jsonl", None, ledger, dry_run)
                by_orig[tid]["events"] += 1
            elif tid is not None and tid in known_ids:
                continue  # a task skipped or invalid above
            elif str(line.get("type")) == "heartbeat":
                res.heartbeats_skipped += 1
            else:
                digest = hashlib.sha1(json.dumps(line, sort_keys=True, default=str).encode()).hexdigest()[:16]
                if digest in seen_project:
                    continue
                seen_project.add(digest)
                _add(s, proj, None, line, "events.jsonl", None, ledger, dry_run, digest=digest)
                res.project_events += 1
        res.events = sum(r["events"] for r in res.imported)
        if apply_settings:
            res.settings["applied"] = True
            _apply_mode(s, proj, res.settings, now, ledger, dry_run)
        if not dry_run and (res.imported or res.project_events):
            add_event(s, proj, now, "import", note=f"imported {len(res.imported)} task(s) from {SOURCE}",
                      actor="user", host=ledger.settings.hostname,
                      data={"source": res.source, "tasks": [r["id"] for r in res.imported],
                            "skipped": len(res.skipped), "invalid": len(res.invalid)})
    if apply_settings and not dry_run and res.settings["max_concurrency"] is not None \
            and res.settings["max_concurrency"] != ledger.settings.max_concurrency:
        ledger.settings = with_values(ledger.settings, max_concurrency=res.settings["max_concurrency"])
        save_settings(ledger.paths.config, ledger.settings)
    return res


def _pick_key(orig: str, existing: dict[str, Task], taken: set[str]) -> tuple[str, str | None]:
    """A free task id for `orig`, or the id it is present as already and why it is skipped."""
    base = sanitize_key(orig)
    for n in range(1, 1000):
        key = base if n == 1 else f"{base[:60].rstrip('-')}-{n}"
        task = existing.get(key)
        if task is not None:
            imported = (task.extra or {}).get("imported") or {}
            if imported.get("from") == SOURCE and str(imported.get("id")) == orig:
                return key, "already imported"
            if imported.get("from") != SOURCE:
                return key, "a task with this id exists already (not imported)"
            continue  # imported from another id that sanitises the same way
        if key not in taken:
            return key, None
    raise UserError(f"too many tasks whose id sanitises to {base!r}")


def _imported_project_lines(s: Session, proj: Project) -> set[str]:
    rows = s.scalars(select(Event.data).where(Event.project_id == proj.id, Event.kind == "imported",
                                              Event.task_id.is_(None)))
    return {d.get("line") for d in rows if isinstance(d, dict) and d.get("line")}


def _add(s: Session, proj: Project, task: Task | None, entry: dict, origin: str, fallback: datetime | None,
         ledger: Ledger, dry_run: bool, digest: str | None = None) -> None:
    if dry_run:
        return
    at = _ts(entry.get("at")) or fallback or (task.created_at if task is not None else proj.created_at)
    payload = _entry_data(entry, origin) if origin == "history" else {"source": origin, **entry}
    if digest:
        payload["line"] = digest
    add_event(s, proj, at, "imported", task, to_value=_text(entry.get("status"), 64),
              reason=_text(entry.get("type"), 64), note=_text(entry.get("note")), actor="import",
              host=ledger.settings.hostname, data=payload)


def _apply_mode(s: Session, proj: Project, settings: dict, now: datetime, ledger: Ledger, dry_run: bool) -> None:
    mode = settings["dispatch_mode"]
    if mode is None or mode == proj.mode or dry_run:
        return
    note = settings["dispatch_note"] or f"imported from {SOURCE}"
    add_event(s, proj, now, "mode", from_value=proj.mode, to_value=mode, note=note, actor="user",
              host=ledger.settings.hostname)
    proj.mode, proj.mode_note, proj.mode_changed_at = mode, note, now
