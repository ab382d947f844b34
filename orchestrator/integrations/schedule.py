"""Scheduler units that run `orch tick`: systemd user timers, launchd agents and crontab lines."""

from __future__ import annotations

import hashlib
import os
import plistlib
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from orchestrator.integrations import textdiff
from orchestrator.errors import UserError
from orchestrator.timeutil import format_duration

KINDS = ("cron", "systemd", "launchd")
MIN_SECONDS = 10


@dataclass(frozen=True)
class Target:
    """What a unit runs: the orch executable, the repository, and the PATH it runs with."""

    orch: str
    root: str
    path_env: str
    name: str  # per-repository unit name, e.g. orch-tick-myrepo-1a2b3c4d

    @property
    def argv(self) -> list[str]:
        return [self.orch, "--repo", self.root, "tick"]

    @property
    def log(self) -> str:
        return f"{self.root}/.orch/logs/tick.log"

    @property
    def label(self) -> str:
        rest = self.name.removeprefix("orch-tick").lstrip("-")
        return "com.orch.tick." + rest if rest else "com.orch.tick"


@dataclass
class UnitFile:
    """One generated file: where it belongs once installed, and its text."""

    path: Path
    content: str


@dataclass
class Plan:
    """Everything `orch schedule KIND` prints or installs."""

    kind: str
    name: str
    seconds: int
    argv: list[str]
    files: list[UnitFile]
    enable: str
    notes: list[str] = field(default_factory=list)

    @property
    def interval(self) -> str:
        return format_duration(self.seconds)


# --- locating things ------------------------------------------------------------------------

def find_orch() -> str:
    """Absolute path of this `orch` executable: next to the interpreter, else argv[0], else PATH."""
    from orchestrator.system.resources import running_orch

    here = running_orch()
    if here:
        return here
    found = shutil.which("orch")
    if found:
        return str(Path(found).absolute())
    raise UserError("cannot find the `orch` executable: install orch so that `orch` is on PATH")


def unit_name(root: Path | str) -> str:
    """A name unique per repository: orch-tick-<folder>-<8 hex of the path's hash>."""
    root = str(root)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(root).name).strip("-.").lower()[:40] or "repo"
    digest = hashlib.sha256(root.encode("utf-8")).hexdigest()[:8]
    return f"orch-tick-{slug}-{digest}"


def path_env(orch: str, current: str | None = None) -> str:
    """PATH for the unit: orch's folder first, then the caller's PATH, without repeats."""
    parts = [os.path.dirname(orch)]
    parts += (current if current is not None else os.environ.get("PATH", "")).split(os.pathsep)
    parts += ["/usr/local/bin", "/usr/bin", "/bin"]
    seen: list[str] = []
    for p in parts:
        if p and os.path.isabs(p) and p not in seen:
            seen.append(p)
    return os.pathsep.join(seen)


def make_target(root: Path, orch: str | None = None) -> Target:
    orch = orch or find_orch()
    return Target(orch=orch, root=str(root), path_env=path_env(orch), name=unit_name(root))


def interval_seconds(every: timedelta, what: str = "--every") -> int:
    secs = every.total_seconds()
    if secs != int(secs):
        raise UserError(f"invalid {what} {format_duration(every)}: use whole seconds")
    if secs < MIN_SECONDS:
        raise UserError(f"invalid {what} {int(secs)}s: a scheduled tick needs at least {MIN_SECONDS}s "
                        "(use `orch watch` for a faster loop)")
    return int(secs)


# --- systemd --------------------------------------------------------------------------------

def _sd_escape(value: str) -> str:
    """Escape specifiers (%); systemd reads the rest of the line verbatim."""
    return value.replace("%", "%%")


def _sd_arg(arg: str) -> str:
    """One ExecStart word: quoted when needed; % and $ escaped."""
    arg = _sd_escape(arg).replace("$", "$$")
    if re.search(r"[\s\"'\\;]", arg) or not arg:
        arg = '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return arg


def on_calendar(seconds: int) -> str | None:
    """An OnCalendar expression for intervals that divide a minute, an hour or a day; else None."""
    if seconds < 60:
        return f"*:*:0/{seconds}" if 60 % seconds == 0 else None
    if seconds % 60:
        return None
    minutes = seconds // 60
    if minutes < 60:
        return f"*:0/{minutes}" if 60 % minutes == 0 else None
    if minutes % 60:
        return None
    hours = minutes // 60
    if hours < 24 and 24 % hours == 0:
        return f"*-*-* 0/{hours}:00:00"
    if hours == 24:
        return "*-*-* 00:00:00"
    return None


def timer_spread(seconds: int) -> int:
    """A small random delay: 10% of the interval, at most 30s."""
    return max(1, min(30, seconds // 10))


def systemd_units(t: Target, seconds: int) -> tuple[str, str]:
    """The text of NAME.service (Type=oneshot) and NAME.timer."""
    timeout = max(5, min(seconds * 8 // 10, 1800))
    exec_start = " ".join(_sd_arg(a) for a in t.argv)
    service = (
        "[Unit]\n"
        f"Description=orch heartbeat tick for {_sd_escape(t.root)}\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"WorkingDirectory={_sd_escape(t.root)}\n"
        f"Environment={_sd_arg('PATH=' + t.path_env)}\n"
        f"ExecStart={exec_start}\n"
        f"TimeoutStartSec={timeout}\n"
        "Nice=10\n"
    )
    cal = on_calendar(seconds)
    spread = timer_spread(seconds)
    if cal:
        when = f"OnCalendar={cal}\nPersistent=true\n"
    else:  # not a divisor of a minute/hour/day: count from the last run instead of the wall clock
        when = f"OnBootSec={min(seconds, 120)}\nOnUnitActiveSec={seconds}\nPersistent=true\n"
    timer = (
        "[Unit]\n"
        f"Description=Run orch tick every {format_duration(seconds)} for {_sd_escape(t.root)}\n"
        "\n"
        "[Timer]\n"
        f"{when}"
        f"RandomizedDelaySec={spread}\n"
        f"AccuracySec={spread}s\n"
        f"Unit={t.name}.service\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return service, timer


def systemd_dir(env: dict | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME") or str(Path.home()), ".config")
    return Path(base) / "systemd" / "user"


# --- launchd --------------------------------------------------------------------------------

def launchd_plist(t: Target, seconds: int) -> str:
    data = {
        "Label": t.label,
        "ProgramArguments": t.argv,
        "StartInterval": seconds,
        "RunAtLoad": True,
        "WorkingDirectory": t.root,
        "EnvironmentVariables": {"PATH": t.path_env},
        "StandardOutPath": t.log,
        "StandardErrorPath": t.log,
        "ProcessType": "Background",
    }
    return plistlib.dumps(data, sort_keys=False).decode("utf-8")


def launchd_dir(env: dict | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("HOME") or str(Path.home())) / "Library" / "LaunchAgents"


# --- cron -----------------------------------------------------------------------------------

def cron_schedule(seconds: int) -> str:
    """The five time fields, or a UserError when cron cannot run at that interval."""
    if seconds % 60 == 0:
        minutes = seconds // 60
        if minutes < 60 and 60 % minutes == 0:
            return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
        if minutes % 60 == 0:
            hours = minutes // 60
            if hours < 24 and 24 % hours == 0:
                return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
            if hours == 24:
                return "0 0 * * *"
    raise UserError(f"cron cannot run every {format_duration(seconds)}: choose minutes that divide an hour "
                    "(1m, 5m, 10m, 15m, 30m), hours that divide a day, or use systemd or launchd")


def _cron_escape(text: str) -> str:
    return text.replace("%", "\\%")  # % ends the command in a crontab line


def cron_marker(t: Target) -> str:
    """The part of the crontab line that identifies this repository's job."""
    return _cron_escape(f" --repo {shlex.quote(t.root)} tick ")


def cron_line(t: Target, seconds: int) -> str:
    q = shlex.quote
    cmd = (f"cd {q(t.root)} && PATH={q(t.path_env)} {q(t.orch)} --repo {q(t.root)} tick "
           f">> {q(t.log)} 2>&1")
    return f"{cron_schedule(seconds)} {_cron_escape(cmd)}\n"


# --- plans ----------------------------------------------------------------------------------

def build_plan(kind: str, t: Target, seconds: int, env: dict | None = None) -> Plan:
    """The files for KIND at their installed locations and the one command that enables them."""
    if kind == "systemd":
        service, timer = systemd_units(t, seconds)
        where = systemd_dir(env)
        files = [UnitFile(where / f"{t.name}.service", service), UnitFile(where / f"{t.name}.timer", timer)]
        enable = f"systemctl --user daemon-reload && systemctl --user enable --now {t.name}.timer"
        notes = [f"check it with: systemctl --user list-timers {t.name}.timer",
                 "to keep it running after you log out: loginctl enable-linger \"$USER\""]
    elif kind == "launchd":
        path = launchd_dir(env) / f"{t.label}.plist"
        files = [UnitFile(path, launchd_plist(t, seconds))]
        enable = f"launchctl bootstrap gui/$(id -u) {shlex.quote(str(path))}"
        notes = [f"to reload after a change: launchctl bootout gui/$(id -u)/{t.label} first",
                 f"logs: {t.log}"]
    elif kind == "cron":
        path = Path(t.root) / ".orch" / "schedule" / "crontab.txt"
        files = [UnitFile(path, cron_line(t, seconds))]
        enable = (f"(crontab -l 2>/dev/null | grep -vF -- {shlex.quote(cron_marker(t))}; "
                  f"cat {shlex.quote(str(path))}) | crontab -")
        notes = [f"logs: {t.log}"]
    else:
        raise UserError(f"invalid scheduler {kind!r}: choose one of {', '.join(KINDS)}")
    return Plan(kind=kind, name=t.name if kind != "launchd" else t.label, seconds=seconds, argv=t.argv,
                files=files, enable=enable, notes=notes)


@dataclass
class Change:
    path: Path
    action: str  # created | unchanged | replaced | conflict
    diff: str = ""


def check_files(plan: Plan, force: bool) -> list[Change]:
    """What installing would do to each file; a differing file is a conflict unless forced."""
    changes = []
    for f in plan.files:
        if not f.path.exists():
            changes.append(Change(f.path, "created"))
            continue
        try:
            old = f.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{f.path}: cannot read the existing file ({exc})") from None
        if old == f.content:
            changes.append(Change(f.path, "unchanged"))
            continue
        diff = textdiff.text(old, f.content, f"{f.path} (installed)", f"{f.path} (new)")
        changes.append(Change(f.path, "replaced" if force else "conflict", diff))
    return changes


def install(plan: Plan, root: Path, force: bool = False) -> list[Change]:
    """Write the plan's files (all or none); raises UserError listing conflicts without --force."""
    from orchestrator.system.files import own_dir, write_atomic

    changes = check_files(plan, force)
    conflicts = [c for c in changes if c.action == "conflict"]
    if conflicts:
        sys.stderr.write("".join(c.diff for c in conflicts))
        names = ", ".join(str(c.path) for c in conflicts)
        raise UserError(f"{names} exists with different content (diff above); rerun with --force to replace it")
    try:
        own_dir(root / ".orch" / "logs", 0o700)
        for f, c in zip(plan.files, changes):
            if c.action != "unchanged":
                write_atomic(f.path, f.content, mode=0o644)
    except OSError as exc:
        raise UserError(f"cannot install {plan.kind} units: {exc.strerror} ({exc.filename})") from None
    return changes


# --- systemd-examples/ ----------------------------------------------------------------------

EXAMPLE_TARGET = Target(orch="/home/ana/.local/bin/orch", root="/home/ana/work/myrepo",
                        path_env="/home/ana/.local/bin:/usr/local/bin:/usr/bin:/bin", name="orch-tick")


def example_files(seconds: int = 300) -> dict[str, str]:
    """The files in systemd-examples/: generator output for placeholder paths (kept current by a test)."""
    t = EXAMPLE_TARGET
    service, timer = systemd_units(t, seconds)
    cron = ("# orch tick every 5 minutes for /home/ana/work/myrepo (generated by `orch schedule cron`).\n"
            "# orch takes its own lock, so no flock is needed. Merge into your crontab with:\n"
            "#   (crontab -l 2>/dev/null; cat crontab.txt) | crontab -\n") + cron_line(t, seconds)
    return {"orch-tick.service": service, "orch-tick.timer": timer,
            "com.orch.tick.plist": launchd_plist(t, seconds), "crontab.txt": cron}
