"""`orch hook …` (receive agent hook events) and `orch hooks install codex|claude`."""

from __future__ import annotations

from typing import List, Optional

import typer

from orchestrator.cli import app
from orchestrator.cli.common import choice, emit_json, out
from orchestrator.timeutil import utcnow

hook_app = typer.Typer(help="Receive an agent's hook event (called by Codex or Claude Code, not by people).",
                       no_args_is_help=True)
hooks_app = typer.Typer(help="Install orch's hooks into Codex or Claude Code settings.", no_args_is_help=True)
app.add_typer(hook_app, name="hook")
app.add_typer(hooks_app, name="hooks")


def _receive(kind: str, rest: list[str]) -> None:
    from orchestrator.integrations.hook_receive import receive

    raise typer.Exit(receive(kind, rest))


@hook_app.command("codex-notify")
def codex_notify(payload: Optional[List[str]] = typer.Argument(None, help="The JSON Codex's `notify` appends.")) -> None:
    """Codex `notify`: the turn-complete JSON arrives as the last argument. Always exits 0."""
    _receive("codex-notify", payload or [])


@hook_app.command("codex")
def codex_hook() -> None:
    """A Codex hook: the event JSON arrives on stdin. Always exits 0."""
    _receive("codex", [])


@hook_app.command("claude")
def claude_hook() -> None:
    """A Claude Code hook: the event JSON arrives on stdin. Always exits 0."""
    _receive("claude", [])


@hooks_app.command("install")
def install(
    agent: str = typer.Argument(..., help="codex or claude."),
    print_only: bool = typer.Option(False, "--print", help="Show the changes; write nothing."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Merge orch's hook commands into the agent's user settings, with a backup and a diff; idempotent."""
    from orchestrator.integrations.schedule import find_orch
    from orchestrator.integrations import hooks_install as inst
    from orchestrator.probes.sessions.discover import Roots

    choice(agent, ("codex", "claude"), "agent")
    roots = Roots.from_env()
    orch = find_orch()
    changes = inst.codex_changes(orch, roots) if agent == "codex" else inst.claude_changes(orch, roots)
    backups = [] if print_only else inst.apply(changes, utcnow())
    if json_out:
        emit_json({"agent": agent, "written": not print_only,
                   "files": [{"path": str(c.path), "changed": c.changed, "diff": c.diff(), "notes": c.notes}
                             for c in changes], "backups": backups}, "hooks-install")
        return
    for c in changes:
        if not c.changed:
            out.print(f"{c.path}: orch's hooks already installed", markup=False)
            continue
        out.print(c.diff(), markup=False, end="")
        verb = "would change" if print_only else "updated"
        out.print(f"{c.path}: {verb}", markup=False)
    for note in (n for c in changes for n in c.notes):
        out.print(f"note: {note}", markup=False)
    for b in backups:
        out.print(f"backup: {b}", markup=False)
    if not print_only and any(c.changed for c in changes):
        follow = ("Codex asks you to trust new hooks once: run `/hooks` in a Codex session."
                  if agent == "codex" else "Claude Code picks the hooks up in new sessions (`/hooks` shows them).")
        out.print(follow, markup=False)
