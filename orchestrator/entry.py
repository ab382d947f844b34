"""Console entry point: `orch hook …` takes a fast path that imports almost nothing; the rest goes to the CLI."""

from __future__ import annotations

import sys

HOOK_KINDS = ("codex-notify", "codex", "claude")


def main() -> None:
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "hook" and args[1] in HOOK_KINDS and "--help" not in args and "-h" not in args:
        from orchestrator.integrations.hook_receive import main_fast

        sys.exit(main_fast(args[1:]))
    from orchestrator.cli import main as cli_main

    cli_main()
