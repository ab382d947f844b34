"""Shared CLI plumbing: global options, opening the ledger, JSON output, validation."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from typing import TYPE_CHECKING

import typer

from orchestrator.errors import UserError
from orchestrator.paths import RepoPaths, find_repo
from orchestrator.timeutil import parse_iso

if TYPE_CHECKING:
    from orchestrator.ledger.connect import Ledger

JSON_SCHEMA = 1
TASK_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")



class Printer:
    """Plain text goes straight to stdout or stderr; rich (tables, spinners) is loaded only when asked for."""

    def __init__(self, stderr: bool = False):
        self._stderr = stderr
        self._console = None

    @property
    def console(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False, soft_wrap=True)
        return self._console

    def print(self, *objects, markup: bool | None = None, end: str = "\n", **kw) -> None:
        if markup is False and not kw and all(isinstance(o, str) for o in objects):
            stream = sys.stderr if self._stderr else sys.stdout
            stream.write(" ".join(objects) + end)
            stream.flush()
            return
        self.console.print(*objects, markup=markup, end=end, **kw)

    def __getattr__(self, name: str):
        return getattr(self.console, name)


out = Printer()
err = Printer(stderr=True)


@dataclass
class Globals:
    """Options given before the command: where the repository and the ledger are."""

    repo: Path | None = None
    db: str | None = None
    _paths: RepoPaths | None = None
    _ledger: Ledger | None = None
    _settings: object | None = None

    def paths(self) -> RepoPaths:
        if self._paths is None:
            self._paths = find_repo(self.repo)
        return self._paths

    def ledger(self, require_init: bool = True) -> Ledger:
        if self._ledger is None:
            from orchestrator.ledger.connect import open_ledger

            self._ledger = open_ledger(self.paths(), self.db, require_init=require_init)
        return self._ledger

    def settings(self):
        """The repository's settings, read once (without opening the ledger)."""
        if self._settings is None:
            from orchestrator.settings import load_settings

            self._settings = load_settings(self.paths().config)
        return self._settings

    def status_facts(self, now: datetime) -> dict:
        """The facts behind `orch status` and `orch task list`: from the status cache when it is current,
        else from the ledger (which refreshes the cache)."""
        from orchestrator.report import snapshot

        paths = self.paths()
        if paths.state.is_dir() and self._ledger is None:
            facts = snapshot.load(paths, self.settings(), self.db)
            if facts is not None:
                return facts
        ledger = self.ledger()
        facts = snapshot.save(ledger, now)
        if facts is None:
            with ledger.session(readonly=True) as s:
                facts = snapshot.gather(ledger, s, now)
        return facts

    def close(self) -> None:
        if self._ledger is not None:
            if self._ledger.wrote:
                from orchestrator.report import snapshot

                snapshot.save(self._ledger)
            self._ledger.close()
            self._ledger = None


def g(ctx: typer.Context) -> Globals:
    obj = ctx.find_root().obj
    if obj is None:
        obj = ctx.find_root().obj = Globals()
    return obj


def emit_json(data: dict, kind: str) -> None:
    """Print one JSON document on stdout, with its schema version."""
    doc = {"schema": JSON_SCHEMA, "kind": kind, **{k: v for k, v in data.items() if k != "schema"}}
    sys.stdout.write(json.dumps(doc, indent=1, default=str) + "\n")
    sys.stdout.flush()


def check_task_key(key: str) -> str:
    if not TASK_KEY.match(key):
        raise UserError(f"invalid task id {key!r}: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)")
    return key


def parse_now(now: str | None) -> datetime | None:
    return parse_iso(now, what="--now") if now else None


def choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise UserError(f"invalid {what} {value!r}: choose one of {', '.join(allowed)}")
    return value
