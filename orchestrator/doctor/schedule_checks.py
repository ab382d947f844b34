"""`orch doctor`, the schedule: every recorded schedule exists and really runs; orphaned and foreign units."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from orchestrator.doctor.base import Context, Finding, fail, ok, warn
from orchestrator.integrations import schedule_check as live
from orchestrator.integrations.schedule import launchd_dir, systemd_dir, unit_name


def recorded_schedules(ledger, host: str) -> list[dict]:
    """Every schedule `orch schedule --install` recorded for this host (kv `schedules`, and the last, `schedule`)."""
    from orchestrator.ledger import kv

    with ledger.session(readonly=True) as s:
        proj = ledger.project(s)
        last = kv.get(s, proj, host, "schedule")
        every = kv.get(s, proj, host, "schedules")
    values = {k: v for k, v in every.items() if isinstance(v, dict)}
    if last and last.get("kind") not in values:
        values[str(last.get("kind"))] = last
    return [values[k] for k in sorted(values)]


def _host(ctx: Context) -> str:
    return ctx.settings.hostname if ctx.settings else ""


def _removal(unit: live.Unit) -> str:
    files = " ".join(shlex.quote(p) for p in unit.paths)
    if unit.kind == "systemd":
        return f"systemctl --user disable --now {unit.name}.timer; rm {files}"
    if unit.kind == "launchd":
        return f"launchctl bootout gui/$(id -u)/{unit.name}; rm {files}"
    return f"crontab -e, and delete the line with --repo {shlex.quote(unit.root or '?')}"


def _check_one(ctx: Context, value: dict, default_kind: str) -> Finding:
    kind = value.get("kind", "?")
    enable = value.get("enable") or f"orch schedule {kind} --install"
    paths = [p for p in (value.get("paths") or [value.get("path")]) if p]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        return fail("schedule", f"{kind} schedule recorded, but {', '.join(missing)} no longer exist(s)",
                    f"orch schedule {kind} --install")
    command = value.get("command") or []
    if command and os.path.isabs(command[0]) and not os.access(command[0], os.X_OK):
        return fail("schedule", f"the {kind} unit runs {command[0]}, which no longer exists",
                    f"orch schedule {kind} --install --force")
    state = live.live_state(value, ctx.env)
    what = f"{kind} every {value.get('interval', '?')} ({value.get('name', '?')})"
    if state.running:
        return ok("schedule", f"{what}: {state.detail}")
    if state.state == "other-platform":
        return warn("schedule", f"{what}: {state.detail}", f"orch schedule {default_kind} --install")
    if state.state == "unknown":
        return warn("schedule", f"{what} installed, but {state.detail}", f"check it by hand; it is enabled with: {enable}")
    return warn("schedule", f"{what} installed but not running: {state.detail}", enable)


def check_schedule(ctx: Context) -> list[Finding]:
    from orchestrator.doctor.ledger_checks import default_scheduler

    if ctx.ledger is None:
        return []
    default_kind = default_scheduler()
    values = recorded_schedules(ctx.ledger, _host(ctx))
    out: list[Finding] = []
    if not values:
        out.append(warn("schedule", f"no schedule installed for host {_host(ctx)}",
                        f"orch schedule {default_kind} --install"))
    out += [_check_one(ctx, v, default_kind) for v in values]
    out += check_units(ctx, values)
    return out


def check_units(ctx: Context, values: list[dict]) -> list[Finding]:
    """orch units on this machine: for a repository that is gone, for another platform, or never recorded."""
    root = str(ctx.paths.root)
    recorded = {(v.get("kind"), v.get("name")) for v in values}
    recorded_kinds = {v.get("kind") for v in values}
    units = (live.systemd_units(systemd_dir(ctx.env)) + live.launchd_units(launchd_dir(ctx.env))
             + live.cron_units(ctx.env))
    out: list[Finding] = []
    for u in units:
        where = ", ".join(u.paths) or "crontab"
        if u.root and not live.is_orch_repo(u.root):
            out.append(warn("schedule.orphan", f"{u.kind} unit {u.name} ({where}) ticks {u.root}, which is gone "
                                               "or no longer set up for orch", _removal(u)))
            continue
        foreign = live.platform_warning(u.kind)
        if foreign and (u.kind, u.name) not in recorded:
            out.append(warn("schedule.platform", f"{where}: {foreign}", _removal(u)))
            continue
        mine = u.root == root or u.name in (unit_name(root), live.launchd_label(unit_name(root)))
        if mine and u.kind not in recorded_kinds:
            out.append(warn("schedule.unrecorded", f"{u.kind} unit {u.name} ({where}) ticks this repository but "
                                                   "the ledger does not know it",
                            f"orch schedule {u.kind} --install (records it), or remove it: {_removal(u)}"))
    return out
