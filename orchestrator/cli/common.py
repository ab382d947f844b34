"""Shared CLI plumbing: global options, opening the ledger, JSON output, validation."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import typer
from orchestrator.system.terminal import SafeConsole as Console

from orchestrator.errors import UserError
from orchestrator.ledger.connect import Ledger, open_ledger
from orchestrator.paths import RepoPaths, find_repo
from orchestrator.timeutil import parse_iso

JSON_SCHEMA = 1
TASK_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Globals:
    """Options given before the command: where the repository and the ledger are."""

    repo: Path | None = None
    db: str | None = None
    _paths: RepoPaths | None = None
    _ledger: Ledger | None = None

    def paths(self) -> RepoPaths:
        if self._paths is None:
            self._paths = find_repo(self.repo)
        return self._paths

    def ledger(self, require_init: bool = True) -> Ledger:
        if self._ledger is None:
            self._ledger = open_ledger(self.paths(), self.db, require_init=require_init)
        return self._ledger

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


def g(ctx: typer.Context) -> Globals:
    obj = ctx.find_root().obj
    if obj is None:
        obj = ctx.find_root().obj = Globals()
    return obj


def emit_json(data: dict, kind: str) -> None:
    """Print one JSON document on stdout, with its schema version."""
    from orchestrator.redact import redact_obj

    doc = {"schema": JSON_SCHEMA, "kind": kind, **{k: v for k, v in data.items() if k != "schema"}}
    doc = redact_obj(json.loads(json.dumps(doc, default=str)))  # every string, at the edge: no field forgotten
    sys.stdout.write(json.dumps(doc, indent=1, default=str) + "\n")
    sys.stdout.flush()


def check_task_key(key: str) -> str:
    if not TASK_KEY.fullmatch(key):  # `$` alone would accept a trailing newline
        raise UserError(f"invalid task id {key!r}: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)")
    return key


def parse_now(now: str | None) -> datetime | None:
    return parse_iso(now, what="--now") if now else None


def choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise UserError(f"invalid {what} {value!r}: choose one of {', '.join(allowed)}")
    return value
