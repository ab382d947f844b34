"""`orch doctor`, the machine around the ledger: agent hooks, session folders, reports, checkout, notifications."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
import time
from pathlib import Path

from orchestrator.doctor.base import Context, Finding, fail, ok, warn
from orchestrator.system.gitrun import run_git
from orchestrator.paths import STATE_DIR
from orchestrator.errors import UserError
from orchestrator.integrations import hooks_install as install
from orchestrator.probes.sessions.discover import Roots
from orchestrator.timeutil import format_duration

# --- 5. hooks -------------------------------------------------------------------------------

def _exe_missing(command: str | list) -> str | None:
    """The orch executable a hook command runs, when it no longer exists; else None."""
    try:
        argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    except ValueError:
        return None
    exe = argv[0] if argv else ""
    if not exe:
        return None
    if os.path.isabs(exe):
        return None if os.access(exe, os.X_OK) else exe
    return None if shutil.which(exe) else exe


def _hook_finding(check: str, agent: str, where: Path, commands: list, fix: str) -> Finding:
    if not commands:
        return warn(check, f"orch's hook is not installed in {where}", fix)
    for cmd in commands:
        gone = _exe_missing(cmd)
        if gone:
            return fail(check, f"the hook in {where} runs {gone}, which no longer exists (an old venv?)", fix)
    return ok(check, f"{agent} hook installed in {where}")


def check_hooks(ctx: Context) -> list[Finding]:
    roots = Roots.from_env(ctx.env)
    out = []
    for agent, name, home, where in (("claude", "Claude Code", roots.claude, roots.claude / "settings.json"),
                                     ("codex", "Codex", roots.codex, roots.codex)):
        if not home.is_dir():
            continue
        check, fix = f"hooks.{agent}", f"orch hooks install {agent}"
        try:
            out.append(_hook_finding(check, name, where, install.installed(agent, roots), fix))
            problem = install.codex_feature_problem(roots) if agent == "codex" else None
            if problem:
                out.append(warn(check, f"{roots.codex / 'config.toml'}: {problem}", fix))
        except (OSError, ValueError, UserError) as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
            out.append(fail(check, f"cannot read the {name} settings: {exc}", f"fix them, then {fix}"))
    if not out:
        out.append(ok("hooks", "no Codex or Claude Code home found (nothing to hook)"))
    return out


def check_skill(ctx: Context) -> list[Finding]:
    """The orch skill where Codex and Claude Code read it, and a copy left in Codex's deprecated folder."""
    from orchestrator.integrations import skill

    out = []
    installed = [r / skill.SKILL_NAME / "SKILL.md" for r in skill.default_roots(ctx.env)]
    found = [str(p) for p in installed if p.is_file()]
    if found:
        out.append(ok("skill", f"installed in {', '.join(found)}"))
    old = skill.legacy_copy(ctx.env)
    if old is not None:
        advice = skill.legacy_advice(old)
        out.append(warn("skill.legacy", advice.split(": remove it")[0],
                        f"rm -r {shlex.quote(str(old.parent))}" + ("" if found else "; then orch skill install")))
    if not out:
        out.append(ok("skill", "not installed (optional: `orch skill install` for your orchestrating agent)"))
    return out


# --- 6. sessions ----------------------------------------------------------------------------

def _count_recent(base: Path, newer: float) -> int:
    """Session files (*.jsonl) under `base` modified after `newer`; stat only, never read."""
    count = 0
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            if name.endswith(".jsonl"):
                try:
                    if os.stat(os.path.join(dirpath, name)).st_mtime >= newer:
                        count += 1
                except OSError:
                    pass
    return count


def check_sessions(ctx: Context) -> list[Finding]:
    roots = Roots.from_env(ctx.env)
    newer = time.time() - 86400
    out = []
    for check, name, home, folder in (("sessions.codex", "Codex", roots.codex, roots.codex / "sessions"),
                                      ("sessions.claude", "Claude Code", roots.claude, roots.claude / "projects")):
        if not home.is_dir():
            continue
        if not folder.exists():
            out.append(ok(check, f"no {name} sessions yet ({folder} does not exist)"))
            continue
        if not os.access(folder, os.R_OK | os.X_OK):
            out.append(fail(check, f"{folder} is not readable, so orch cannot see {name} sessions",
                            f"chmod u+rx {shlex.quote(str(folder))}"))
            continue
        n = _count_recent(folder, newer)
        out.append(ok(check, f"{folder} readable; {n} session file(s) touched in the last day"))
    return out


# --- 7. reports -----------------------------------------------------------------------------

def check_reports(ctx: Context) -> list[Finding]:
    reports = ctx.paths.reports
    if not ctx.paths.state.is_dir():
        return [warn("reports", f"{reports} does not exist", "orch init")]
    probe = reports if reports.is_dir() else ctx.paths.state  # the first tick creates reports/
    try:
        fd, tmp = tempfile.mkstemp(prefix=".doctor-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        return [fail("reports", f"{probe} is not writable ({exc.strerror})",
                     f"chmod u+rwx {shlex.quote(str(probe))}")]
    latest = reports / "latest.md"
    if not latest.exists():
        return [warn("reports", f"{probe} writable; no latest.md yet", "orch tick")]
    age = time.time() - latest.stat().st_mtime
    return [ok("reports", f"{reports} writable; latest.md written {format_duration(age)} ago")]


# --- 8. integration checkout ----------------------------------------------------------------

def check_checkout(ctx: Context) -> list[Finding]:
    root = ctx.paths.root
    res = run_git(root, "status", "--porcelain", "-z", "--untracked-files=normal", timeout=30)
    if not res.ok:
        return [fail("checkout", f"`git status` failed in {root}: {res.error_line()}",
                     f"git -C {shlex.quote(str(root))} status")]
    names, parts = [], iter(res.stdout.decode("utf-8", "surrogateescape").split("\0"))
    for entry in parts:
        if len(entry) > 3:
            names.append(entry[3:])
            if entry[0] in "RC":  # a rename or copy: the next field is the old path
                next(parts, None)
    state_shown = any(n == f"{STATE_DIR}/" or n.startswith(f"{STATE_DIR}/") for n in names)
    dirty = [n for n in names if not (n == STATE_DIR or n.startswith(f"{STATE_DIR}/"))]
    out = []
    if dirty:
        shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
        out.append(warn("checkout", f"integration checkout {root} has {len(dirty)} uncommitted change(s): {shown} "
                                    "(reports show it as blocked)",
                        f"commit or stash them (see `git -C {shlex.quote(str(root))} status`)"))
    else:
        out.append(ok("checkout", f"integration checkout {root} is clean outside {STATE_DIR}/"))
    if ctx.paths.state.is_dir():
        exclude = ctx.paths.common_dir / "info" / "exclude"
        try:
            lines = {ln.strip() for ln in exclude.read_text(encoding="utf-8", errors="replace").splitlines()}
        except OSError:
            lines = set()
        if lines & {f"/{STATE_DIR}/", f"{STATE_DIR}/", f"/{STATE_DIR}", STATE_DIR}:
            out.append(ok("checkout.exclude", f"{STATE_DIR}/ is in {exclude}"))
        elif state_shown:
            out.append(fail("checkout.exclude", f"{STATE_DIR}/ is not in {exclude} and shows as a dirty change",
                            "orch init"))
        else:
            out.append(warn("checkout.exclude", f"{STATE_DIR}/ is not in {exclude}", "orch init"))
    return out


# --- 9. notifications -----------------------------------------------------------------------

def check_notify(ctx: Context) -> list[Finding]:
    command = (ctx.settings.notify_command if ctx.settings else "").strip()
    if not command:
        return [ok("notify", "no notify_command configured (notifications off)")]
    try:
        words = shlex.split(command)
    except ValueError as exc:
        return [fail("notify", f"notify_command cannot be parsed ({exc}): {command}",
                     f"fix notify_command in {ctx.paths.config}")]
    words = [w for w in words if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]  # leading VAR=value
    exe = words[0] if words else ""
    found = shutil.which(exe, path=ctx.env.get("PATH")) if exe else None
    if not found:
        return [warn("notify", f"notify_command runs {exe!r}, which is not on PATH",
                     f"fix notify_command in {ctx.paths.config}, then `orch notify test`")]
    return [ok("notify", f"notify_command runs {found}; try it with `orch notify test`")]


# --- all ------------------------------------------------------------------------------------
