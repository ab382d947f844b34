"""`orch hooks install codex|claude`: merge orch's hook commands into the agent's own settings, keeping the rest."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from orchestrator.integrations import textdiff
from orchestrator.system.files import write_atomic
from orchestrator.errors import UserError
from orchestrator.probes.sessions.discover import Roots

CLAUDE_EVENTS = ("SessionStart", "UserPromptSubmit", "PermissionRequest", "Notification", "Stop", "StopFailure",
                 "SessionEnd")
CODEX_EVENTS = ("SessionStart", "UserPromptSubmit", "PermissionRequest", "Stop")
NOTIFICATION_MATCHER = "permission_prompt|idle_prompt|elicitation_dialog"
_ORCH_HOOK = re.compile(r"(^|[/\s'\"])orch['\"]?\s+hook\s+(claude|codex|codex-notify)\b")


@dataclass
class Change:
    """One settings file orch would write: its path, the text before and after, and notes for the user."""

    path: Path
    before: str | None
    after: str
    notes: list[str]

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        return textdiff.text(self.before or "", self.after, f"{self.path} (before)", f"{self.path} (after)")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None


def _orch_entries(groups, kinds: tuple[str, ...]) -> list[dict]:
    """The hook entries of one event's matcher groups that run `orch hook KIND`."""
    out = []
    for g in groups if isinstance(groups, list) else []:
        for h in g.get("hooks", []) if isinstance(g, dict) else []:
            m = _ORCH_HOOK.search(h["command"]) if isinstance(h, dict) and isinstance(h.get("command"), str) else None
            if m and m.group(2) in kinds:
                out.append(h)
    return out


def _is_orch_notify(notify) -> bool:
    return isinstance(notify, list) and len(notify) == 3 and notify[1:] == ["hook", "codex-notify"]


def _load_json(path: Path) -> dict:
    text = _read(path)
    data = json.loads(text) if text and text.strip() else {}
    return data if isinstance(data, dict) else {}


def installed(agent: str, roots: Roots) -> list:
    """The orch hook commands now configured for `agent` (a string each, or Codex's notify argv).

    Raises OSError, ValueError or UserError when a settings file cannot be read or parsed.
    """
    if agent == "claude":
        hooks = _load_json(roots.claude / "settings.json").get("hooks")
        kinds: tuple[str, ...] = ("claude",)
        found: list = []
    else:
        cfg = roots.codex / "config.toml"
        text = _read(cfg)
        notify = tomllib.loads(text).get("notify") if text else None
        found = [notify] if _is_orch_notify(notify) else []
        hooks = _load_json(roots.codex / "hooks.json").get("hooks")
        kinds = ("codex",)
    for groups in (hooks.values() if isinstance(hooks, dict) else []):
        found += [h["command"] for h in _orch_entries(groups, kinds)]
    return found


def _merge_hooks(data: dict, events: tuple[str, ...], command: str, path: Path) -> None:
    hooks = data.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise UserError(f"{path}: 'hooks' is not an object; fix it by hand, then run this again")
    for event in events:
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise UserError(f"{path}: hooks.{event} is not a list; fix it by hand, then run this again")
        ours = _orch_entries(groups, ("claude", "codex", "codex-notify"))
        for h in ours:  # an earlier install (perhaps from another venv): point it at this orch
            h["command"] = command
        if not ours:
            group: dict = {"hooks": [{"type": "command", "command": command, "timeout": 10}]}
            if event == "Notification":
                group = {"matcher": NOTIFICATION_MATCHER, **group}
            groups.append(group)


def _json_change(path: Path, events: tuple[str, ...], command: str) -> Change:
    before = _read(path)
    try:
        data = json.loads(before) if before and before.strip() else {}
    except ValueError as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); fix it or move it aside, then run this again") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object at the top")
    _merge_hooks(data, events, command, path)
    return Change(path, before, json.dumps(data, indent=2) + "\n", [])


def claude_changes(orch: str, roots: Roots) -> list[Change]:
    return [_json_change(roots.claude / "settings.json", CLAUDE_EVENTS, f"{shlex.quote(orch)} hook claude")]


def _toml_with(text: str, orch: str, path: Path) -> tuple[str, list[str]]:
    """Add `notify` and `[features] hooks = true` (migrating `codex_hooks`) by editing the text, so comments survive."""
    notes: list[str] = []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc}); fix it, then run this again") from None
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    want = [orch, "hook", "codex-notify"]
    notify = data.get("notify")
    if notify is None:
        first_table = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("[")), len(lines))
        lines.insert(first_table, f"notify = {json.dumps(want)}\n")
    elif notify != want:
        if _is_orch_notify(notify):
            idx = next(i for i, ln in enumerate(lines) if re.match(r"\s*notify\s*=", ln))
            lines[idx] = f"notify = {json.dumps(want)}\n"
        else:
            notes.append(f"notify is already set to {notify!r}; left alone (the Stop hook reports turn ends instead)")
    features = data.get("features")
    features = features if isinstance(features, dict) else {}
    if features.get("hooks") is not True or "codex_hooks" in features:
        # The feature key is `hooks` (on by default in current Codex); `codex_hooks` is its deprecated alias.
        header = next((i for i, ln in enumerate(lines) if re.match(r"\s*\[features\]\s*(#.*)?$", ln)), None)
        if header is None:
            lines += ["\n" if lines else "", "[features]\n", "hooks = true\n"]
        else:
            end = next((i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
            key = next((i for i in range(header + 1, end) if re.match(r"\s*hooks\s*=", lines[i])), None)
            old = next((i for i in range(header + 1, end) if re.match(r"\s*codex_hooks\s*=", lines[i])), None)
            if old is not None:
                notes.append("replaced the deprecated `codex_hooks` feature key with `hooks`")
                if key is None:
                    lines[old] = "hooks = true\n"
                else:
                    lines[key] = "hooks = true\n"
                    del lines[old]
            elif key is None:
                lines.insert(header + 1, "hooks = true\n")
            else:
                lines[key] = "hooks = true\n"
    out = "".join(lines)
    check = tomllib.loads(out).get("features", {})
    if check.get("hooks") is not True or "codex_hooks" in check:
        raise UserError(f"{path}: could not set [features] hooks = true safely; set it by hand "
                        "(and remove the deprecated codex_hooks)")
    return out, notes


def codex_feature_problem(roots: Roots) -> str | None:
    """What is wrong with Codex's hooks feature flag in config.toml (deprecated key, turned off); else None."""
    text = _read(roots.codex / "config.toml")
    features = tomllib.loads(text).get("features") if text else None
    if not isinstance(features, dict):
        return None
    if features.get("hooks") is False or (features.get("codex_hooks") is False and "hooks" not in features):
        return "hooks are turned off in [features]"
    if "codex_hooks" in features:
        return "[features] uses the deprecated key codex_hooks (now `hooks`)"
    return None


def codex_changes(orch: str, roots: Roots) -> list[Change]:
    cfg = roots.codex / "config.toml"
    before = _read(cfg)
    after, notes = _toml_with(before or "", orch, cfg)
    hooks = _json_change(roots.codex / "hooks.json", CODEX_EVENTS, f"{shlex.quote(orch)} hook codex")
    return [Change(cfg, before, after, notes), hooks]


def apply(changes: list[Change], now: datetime) -> list[str]:
    """Write each changed file atomically, after a timestamped backup of the old one; returns the backups."""
    backups = []
    for c in changes:
        if not c.changed:
            continue
        mode = 0o600
        if c.before is not None:
            backup = c.path.with_name(f"{c.path.name}.orch-backup-{now:%Y%m%d%H%M%S}")
            shutil.copy2(c.path, backup)
            backups.append(str(backup))
            mode = os.stat(c.path).st_mode & 0o777
        c.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(c.path, c.after, mode=mode)
    return backups
