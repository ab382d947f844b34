"""The typed settings: `.orch/config.toml` and the environment, parsed and validated once, then passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Mapping

from orchestrator.errors import UserError
from orchestrator.timeutil import format_duration, parse_duration

MAX_DURATION = timedelta(days=3650)  # bounds every duration, so that no setting overflows a clock
MAX_HISTORY_KEEP = 100_000


@dataclass(frozen=True)
class Settings:
    """Every setting orch reads, typed; durations are timedeltas, validated when loaded."""

    project: str = "default"
    default_branch: str = "main"
    max_concurrency: int = 5
    stale_after: timedelta = timedelta(minutes=20)  # no progress for this long: stuck
    setup_window: timedelta = timedelta(minutes=15)  # no worktree after this long: setup-overdue
    tick_interval: timedelta = timedelta(minutes=5)
    tick_grace: timedelta = timedelta(minutes=2)
    missed_after: timedelta = timedelta(minutes=30)  # attention unacknowledged this long: a missed wake-up
    git_timeout: timedelta = timedelta(seconds=10)
    git_workers: int = 0  # 0: min(16, max(8, 2 x cores)); git calls wait on process start-up and the disk more than on the CPU
    wait_after: timedelta = timedelta(seconds=30)  # a tool call silent this long may be an approval prompt
    history_keep: int = 200
    retention: timedelta = timedelta(days=30)
    timeline_window: timedelta = timedelta(days=1)  # the HTML status page's timeline, and `orch history`'s default
    notify_command: str = ""
    notify_timeout: timedelta = timedelta(seconds=10)
    gate_timeout: timedelta = timedelta(minutes=10)
    max_runtime: timedelta | None = None  # a dispatch's default runtime budget (None: no budget)
    review_budget: timedelta | None = None  # a dispatch's default review budget (None: no budget)
    host: str = ""
    db: str = ""  # the ledger URL from config.toml; --db and $ORCH_DB win over it
    extra: dict = field(default_factory=dict)  # keys orch does not know, kept as they are
    # From the environment (never written to config.toml):
    env_host: str = ""  # $ORCH_HOST
    env_db: str = ""  # $ORCH_DB
    codex_home: Path = Path("~/.codex")  # $CODEX_HOME
    claude_home: Path = Path("~/.claude")  # $CLAUDE_CONFIG_DIR

    @property
    def hostname(self) -> str:
        if self.env_host or self.host:
            return self.env_host or self.host
        import socket

        return socket.gethostname()

    @property
    def workers(self) -> int:
        return self.git_workers if self.git_workers > 0 else min(16, max(8, 2 * (os.cpu_count() or 2)))

    def ledger_url(self, given: str | None = None) -> str | None:
        """The ledger URL in force: `--db`, else $ORCH_DB, else config.toml's `db`, else None (the SQLite file)."""
        return given or self.env_db or self.db or None

    def thresholds(self):
        """The thresholds the pure classifier applies."""
        from orchestrator.classify.evidence import Thresholds

        return Thresholds(stale_after=self.stale_after, setup_window=self.setup_window, wait_after=self.wait_after)


FILE_KEYS = tuple(f.name for f in fields(Settings) if f.name not in ("extra", "env_host", "env_db", "codex_home",
                                                                        "claude_home"))
DURATIONS = tuple(f.name for f in fields(Settings) if f.type in ("timedelta", "timedelta | None"))
_KIND = {"int": "an integer", "str": "a string", "timedelta": "a duration such as 20m",
         "timedelta | None": "a duration such as 2h, or \"none\""}
OFF = ("none", "off")  # how config.toml and the options switch a budget off


def from_environment(settings: Settings, env: Mapping[str, str] | None = None) -> Settings:
    """Add what the environment says: host, ledger URL and the agents' home folders."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    return replace(settings, env_host=env.get("ORCH_HOST", ""), env_db=env.get("ORCH_DB", ""),
                   codex_home=Path(env.get("CODEX_HOME") or home / ".codex").expanduser(),
                   claude_home=Path(env.get("CLAUDE_CONFIG_DIR") or home / ".claude").expanduser())


def parse(data: Mapping, where: str = "config.toml") -> Settings:
    """Validate a config table; every problem is one clear UserError naming the key."""
    values: dict = {}
    extra: dict = {}
    types = {f.name: f.type for f in fields(Settings)}
    for key, value in data.items():
        if key not in FILE_KEYS:
            extra[key] = value
            continue
        kind = types[key]
        if kind == "timedelta | None" and isinstance(value, str) and value.strip().lower() in OFF:
            values[key] = None
            continue
        if kind in ("timedelta", "timedelta | None"):
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise UserError(f"{where}: {key} must be {_KIND[kind]}, not {value!r}")
            try:
                td = parse_duration(value, what=key)
            except UserError as exc:
                raise UserError(f"{where}: {exc}") from None
            if td > MAX_DURATION:
                raise UserError(f"{where}: {key} = {value!r} is too long (at most {format_duration(MAX_DURATION)})")
            values[key] = td
        elif isinstance(value, bool) or type(value).__name__ != kind:
            raise UserError(f"{where}: {key} must be {_KIND.get(kind, 'another type')}, not {value!r}")
        else:
            values[key] = value
    settings = Settings(**values, extra=extra)
    if settings.max_concurrency < 0:
        raise UserError(f"{where}: max_concurrency must be 0 or more")
    if not 1 <= settings.history_keep <= MAX_HISTORY_KEEP:
        raise UserError(f"{where}: history_keep must be between 1 and {MAX_HISTORY_KEEP}, not {settings.history_keep}")
    if not 0 <= settings.git_workers <= 64:
        raise UserError(f"{where}: git_workers must be between 0 (automatic) and 64")
    return settings


def load_settings(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Read config.toml (a missing file gives the defaults) and the environment; a bad file is a clear error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return from_environment(Settings(), env)
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    return from_environment(parse(data, str(path)), env)


def optional_duration(text: str, what: str) -> timedelta | None:
    """A budget given as an option: a duration such as 2h, or `none` to switch it off (a bad value: one UserError)."""
    if text.strip().lower() in OFF:
        return None
    try:
        td = parse_duration(text, what=what)
    except UserError:
        raise UserError(f"invalid {what} {text!r}: use a duration such as 30m or 2h, or none") from None
    if td > MAX_DURATION:
        raise UserError(f"invalid {what} {text!r}: at most {format_duration(MAX_DURATION)}")
    return td


def exact_duration(td: timedelta) -> str:
    """A duration as text that parses back to the same value: 20m, 1h30m, 2d, 90s -> 1m30s."""
    seconds = td.total_seconds()
    if seconds != int(seconds):
        return f"{seconds:g}s"
    out, rest = "", int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, rest = divmod(rest, size)
        out += f"{n}{unit}" if n else ""
    return out or "0s"


def to_file_dict(settings: Settings) -> dict:
    """The settings as config.toml holds them: durations as text such as "20m", unknown keys kept."""
    out = {}
    for key in FILE_KEYS:
        value = getattr(settings, key)
        if key == "db" and not value:
            continue
        if value is None and key in DURATIONS:
            out[key] = "none"
            continue
        out[key] = exact_duration(value) if isinstance(value, timedelta) else value
    out.update(settings.extra)
    return out


def save_settings(path: Path, settings: Settings) -> None:
    """Write config.toml atomically."""
    import tomli_w

    from orchestrator.system.files import write_atomic

    write_atomic(path, tomli_w.dumps(to_file_dict(settings)), mode=0o644)


def with_values(settings: Settings, **values) -> Settings:
    """A copy with some file settings changed (durations may be given as text); validated like the file."""
    data = {**to_file_dict(settings), **{k: v for k, v in values.items() if v is not None}}
    fresh = parse(data)
    return replace(fresh, env_host=settings.env_host, env_db=settings.env_db, codex_home=settings.codex_home,
                   claude_home=settings.claude_home)
