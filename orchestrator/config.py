"""The project's settings in `.orch/config.toml`: thresholds, concurrency, default branch."""

from __future__ import annotations

import os
import socket
import tomllib
from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
from pathlib import Path

import tomli_w

from orchestrator.errors import UserError
from orchestrator.timeutil import parse_duration

_DURATIONS = ("stale_after", "setup_window", "tick_interval", "tick_grace", "missed_after",
              "git_timeout", "wait_after", "retention", "notify_timeout", "gate_timeout")


@dataclass
class Config:
    """Settings with their defaults; durations are kept as text and parsed on use."""

    project: str = "default"
    default_branch: str = "main"
    max_concurrency: int = 5
    stale_after: str = "20m"
    setup_window: str = "15m"
    tick_interval: str = "5m"
    tick_grace: str = "2m"
    missed_after: str = "30m"
    git_timeout: str = "10s"
    git_workers: int = 0  # 0: min(16, max(8, 2 x cores)); git calls wait on process start-up and the disk more than on the CPU
    wait_after: str = "30s"
    history_keep: int = 200
    retention: str = "30d"
    notify_command: str = ""
    notify_timeout: str = "10s"
    gate_timeout: str = "10m"
    host: str = ""
    extra: dict = field(default_factory=dict)

    def duration(self, name: str) -> timedelta:
        return parse_duration(getattr(self, name), what=name)

    @property
    def hostname(self) -> str:
        return os.environ.get("ORCH_HOST") or self.host or socket.gethostname()

    @property
    def workers(self) -> int:
        return self.git_workers if self.git_workers > 0 else min(16, max(8, 2 * (os.cpu_count() or 2)))

    def to_toml(self) -> str:
        data = {k: v for k, v in asdict(self).items() if k != "extra"}
        data.update(self.extra)
        return tomli_w.dumps(data)


def load_config(path: Path) -> Config:
    """Read config.toml; a missing file gives the defaults, a bad one a clear error."""
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    known = {f.name: f for f in fields(Config) if f.name != "extra"}
    cfg = Config()
    for key, value in data.items():
        if key not in known:
            cfg.extra[key] = value
            continue
        default = getattr(cfg, key)
        if isinstance(default, bool) or not isinstance(value, type(default)):
            kind = {"int": "an integer", "str": "a string", "dict": "a table"}.get(type(default).__name__, "another type")
            raise UserError(f"{path}: {key} must be {kind}, not {value!r}")
        setattr(cfg, key, value)
    for name in _DURATIONS:
        try:
            cfg.duration(name)
        except UserError as exc:
            raise UserError(f"{path}: {exc}") from None
    if cfg.max_concurrency < 0:
        raise UserError(f"{path}: max_concurrency must be 0 or more")
    return cfg


def save_config(path: Path, cfg: Config) -> None:
    from orchestrator.atomic import write_atomic

    write_atomic(path, cfg.to_toml(), mode=0o644)
