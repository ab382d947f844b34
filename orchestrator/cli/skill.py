"""`orch skill install`: put the orch skill where Codex and Claude Code find it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from orchestrator.cli import app
from orchestrator.cli.common import emit_json, err, out

skill_app = typer.Typer(help="The orch skill for Codex and Claude Code.", no_args_is_help=True)
app.add_typer(skill_app, name="skill")

_WORDS = {
    "installed": "installed",
    "updated": "updated",
    "up-to-date": "up to date",
    "refused": "refused",
    "error": "failed",
    "legacy": "left in the old place",
}


@skill_app.command("install")
def skill_install(
    dest: Optional[Path] = typer.Option(None, "--dest", help="Install into DIR/orch/SKILL.md only "
                                        "(default: ~/.agents/skills for Codex and $CLAUDE_CONFIG_DIR/skills)."),
    force: bool = typer.Option(False, "--force", help="Replace a SKILL.md that was edited by hand."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Install the orch skill (SKILL.md) for Codex and Claude Code; never overwrites your edits without --force."""
    from orchestrator.integrations.skill import install

    results = install(dest, force)
    refused = any(r.result == "refused" for r in results)
    failed = any(r.result == "error" for r in results)
    if json_out:
        emit_json({"results": [r.as_dict() for r in results], "refused": refused, "failed": failed}, "skill-install")
    else:
        for r in results:
            line = f"{r.path}: {_WORDS[r.result]}" + (f" ({r.detail})" if r.detail else "")
            (err if r.result in ("refused", "error", "legacy") else out).print(line, markup=False)
            for d in r.diff:
                err.print(f"    {d}", markup=False)
    if failed:
        raise typer.Exit(1)
    if refused:
        raise typer.Exit(2)
