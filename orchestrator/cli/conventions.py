"""CLI conventions applied to the whole command tree: metavars without Python types, fixed choices shown as
[a|b|c], and each command's exit codes at the end of its --help."""

from __future__ import annotations

from orchestrator.classify.evidence import CONDITIONS

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}

KINDS = ("cron", "systemd", "launchd")
AGENTS = ("codex", "claude", "other")
MODES = ("active", "drain", "paused")
SETTABLE = ("active", "reviewing", "merged", "rejected", "blocked", "abandoned")
STATUSES = ("setup", "active", "reviewing", "merged", "rejected", "blocked", "abandoned", "cleaned")
HOOK_AGENTS = ("codex", "claude")
AUTHORITIES = ("commit", "push", "merge")  # ledger/stack.AUTHORITIES (a test keeps them equal), without SQLAlchemy
# ledger/misalign.CATEGORIES and SEVERITIES, ledger/packages.REVIEW_STATUSES (a test keeps them equal)
MISALIGN_CATEGORIES = ("constraint-violation", "authority-exceeded", "self-report-mismatch", "pushback", "overreach",
                       "setup-failure", "heartbeat-gap", "package-drift", "rules-changed")
SEVERITIES = ("low", "medium", "high")
REVIEW_STATUSES = ("passed", "failed")

# (command path, parameter name) -> the fixed choices shown in --help.
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("schedule", "kind"): KINDS,
    ("dispatch", "agent"): AGENTS,
    ("dispatch", "authority"): AUTHORITIES,
    ("mode", "value"): MODES,
    ("task set", "status"): SETTABLE,
    ("task list", "condition"): CONDITIONS,
    ("task list", "status_"): STATUSES,
    ("hooks install", "agent"): HOOK_AGENTS,
    ("misalign record", "category"): MISALIGN_CATEGORIES,
    ("misalign record", "severity"): SEVERITIES,
    ("package review-import", "status"): REVIEW_STATUSES,
}

# parameter name -> metavar, for values that are not a fixed choice.
METAVARS = {
    "every": "D", "stale_after": "D", "timeout": "D", "gate_timeout": "D", "now": "ISO-8601",
    "repo": "PATH", "worktree": "PATH", "folder": "FOLDER", "dest": "DIR", "path": "PATH", "db": "URL",
    "limit": "N", "max_concurrency": "N", "task": "TASK", "branch": "B", "base": "REF", "title": "TEXT",
    "note": "TEXT", "package": "P", "allow": "GLOB", "forbid": "GLOB", "gate": "CMD", "thread_id": "ID",
    "pending_id": "ID", "default_branch": "B", "project": "NAME", "until": "CONDITIONS", "force": "TASK",
    "payload": "PAYLOAD", "max_runtime": "D", "review_budget": "D", "accept": "TEXT", "keep": "D", "now_at": "ISO-8601",
    "since": "D|ISO-8601", "html": "FILE", "switch_reason": "TEXT", "instruction": "TEXT", "constraint": "TEXT",
    "reason": "TEXT", "goal": "TEXT", "spec": "FILE", "out_dir": "DIR", "max_diff_bytes": "N", "reviewer": "NAME",
    "file": "FILE",
}

USAGE = "0 success; 2 bad input or usage (one line on stderr); 1 an internal or ledger failure."
EXIT_CODES: dict[str, str] = {
    "": USAGE + " 3: see `orch tick --exit-code`, `orch review --exit-code`, `orch watch --until`.",
    "tick": USAGE + " With --exit-code: 3 when something needs attention.",
    "watch": USAGE + " 3 with --until when --timeout passed with no match.",
    "review": USAGE + " With --exit-code: 0 ready, 1 ready-with-warnings, 3 needs-work or blocked.",
    "doctor": "0 nothing fails (warnings allowed); 1 a check fails; 2 bad usage.",
    "skill install": "0 installed or up to date; 2 a copy was refused (edited; use --force); 1 a write failed.",
    "notify test": "0 sent; 1 the notification failed; 2 no notify_command configured.",
    "hook": "Always 0, so that an agent is never disturbed.",
    "hook codex-notify": "Always 0, so that an agent is never disturbed.",
    "hook codex": "Always 0, so that an agent is never disturbed.",
    "hook claude": "Always 0, so that an agent is never disturbed.",
}


def usage_line(exc, root=None, argv: list[str] | None = None) -> str:
    """A Click usage error (missing argument, unknown option, bad value) as orch's one line with the hint:
    `missing argument 'TASK' (try `orch task show --help`)`."""
    text = " ".join(exc.format_message().split()).rstrip(".")
    text = text[:1].lower() + text[1:]
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else command_path(root, argv)
    return f"{text} (try `{path} --help`)"


def command_path(root, argv: list[str] | None) -> str:
    """`orch task list` for the arguments `task list -c` (the command the words name, options skipped)."""
    import sys

    words, cmd = ["orch"], root
    for arg in sys.argv[1:] if argv is None else argv:
        subs = getattr(cmd, "commands", None) or {}
        if arg in subs:  # other words are option values (`--repo PATH`) or a leaf command's arguments
            words.append(arg)
            cmd = subs[arg]
    return " ".join(words)


def _is_flag(param) -> bool:
    return bool(getattr(param, "is_flag", False) or getattr(param, "count", False))


def _plain_argument(p) -> None:
    """An argument shows its metavar alone (`TASK`, not `TASK <str>`; usage `[FOLDER]` when optional)."""
    dots = "..." if p.nargs != 1 else ""
    usage = (p.metavar if p.required or p.metavar.startswith("[") else f"[{p.metavar}]") + dots
    p.get_usage_pieces = lambda ctx: [usage]  # not Typer's {TASK}
    p.display_type_rich = lambda ctx: None  # Typer 0.29 adds `<str>` after the name otherwise
    p._rich_display_name = lambda: p.metavar + dots


def _completion(path: str, p, fixed: tuple[str, ...] | None):
    """What the shell offers for a parameter: its fixed choices, the ledger's task ids, or conditions."""
    from orchestrator.cli import complete

    if fixed:
        return complete.fixed(fixed)
    if (p.name == "task" and path != "dispatch") or (path, p.name) == ("cleanup", "force"):
        return complete.task_ids
    if p.name == "until":
        return complete.until
    return None


def tidy(cmd, path: str = "") -> None:
    """Set metavars, completions and epilogs on `cmd` and its subcommands (a click command tree built by Typer)."""
    for p in cmd.params:
        if _is_flag(p) or p.name in ("install_completion", "show_completion"):
            continue
        fixed = CHOICES.get((path, p.name))
        completer = _completion(path, p, fixed)
        if completer is not None and getattr(p, "_custom_shell_complete", None) is None:
            p._custom_shell_complete = completer
        if fixed:
            p.metavar = "[" + "|".join(fixed) + "]"
        elif p.metavar is None:
            p.metavar = METAVARS.get(p.name or "", (p.name or "value").upper().replace("_", "-"))
        if getattr(p, "param_type_name", "") == "argument":
            _plain_argument(p)
    text = EXIT_CODES.get(path) or (USAGE if path else None)
    if text and not getattr(cmd, "commands", None):
        cmd.epilog = "Exit codes: " + text
    elif text and not path:
        cmd.epilog = "Exit codes: " + text
    for name, sub in (getattr(cmd, "commands", None) or {}).items():
        tidy(sub, f"{path} {name}".strip())
