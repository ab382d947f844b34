"""Console entry point: `orch hook …` takes a fast path that imports almost nothing; the rest goes to the CLI."""

from __future__ import annotations

import sys

HOOK_KINDS = ("codex-notify", "codex", "claude")


def main() -> None:
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "hook" and args[1] in HOOK_KINDS and "--help" not in args and "-h" not in args:
        from orchestrator.integrations.hook_receive import main_fast

        sys.exit(main_fast(args[1:]))
    _tick_head_start(args)
    from orchestrator.cli import main as cli_main

    cli_main()


def _tick_head_start(args: list[str]) -> None:
    """`orch [--repo P] [--db URL] tick …`: start the tick's git probe before the CLI loads (tickstart.py)."""
    opts: dict[str, str] = {}
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name, eq, value = args[i].partition("=")
        if name not in ("--repo", "--db"):
            return  # anything else before the command is the CLI's to judge
        if not eq:
            if i + 1 >= len(args):
                return
            value, i = args[i + 1], i + 1
        opts[name] = value
        i += 1
    if i < len(args) and args[i] == "tick" and not {"-h", "--help"} & set(args[i:]):
        from orchestrator import tickstart

        tickstart.start_early(opts.get("--repo"), opts.get("--db"))
