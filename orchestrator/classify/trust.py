"""Live trust checks (pure): constraint violations, authority exceeded and pushback, from facts the probes give.

Each finding carries a dedupe key, so that the tick records it exactly once however often it is seen.
Pushback from a person's words is `inferred`: a message right after an agent action that starts with
stop / no / nope / don't / do not / wait / undo / revert / hold on (English only; see probes/sessions/trail.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from dataclasses import dataclass, field

from orchestrator.ledger.stack import is_rule_path
from orchestrator.review.checklist import matches

MAX_FINDINGS = 20


@dataclass(frozen=True)
class Finding:
    category: str
    severity: str  # low | medium | high
    evidence_kind: str  # git | session-log | session-log (inferred)
    evidence: str
    key: str


@dataclass(frozen=True)
class TrustInput:
    """What the checks need about one task; gathered by the tick, nothing fetched here."""

    key: str
    branch: str
    default_branch: str
    authority: str = "commit"
    allow: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    worktree: str | None = None
    root: str | None = None  # the integration checkout
    current_branch: str | None = None  # the worktree's branch now (None: detached or unknown)
    has_commits: bool = False
    head: str | None = None
    changed: tuple[str, ...] = ()  # paths changed since base, committed or not
    remote_past_base: tuple[str, ...] = ()  # remote-tracking refs of the task branch that moved past base
    trails: tuple[tuple[str, dict], ...] = ()  # (session id, trail) of the task's sessions
    rules_base: tuple[str, ...] = field(default_factory=tuple)


def _h(*parts) -> str:
    return hashlib.sha1("\0".join(str(p) for p in parts).encode("utf-8", "surrogateescape")).hexdigest()[:12]


def write_set(t: TrustInput) -> list[Finding]:
    out = []
    for path in t.changed:
        hit = matches(path, list(t.forbid)) if t.forbid else None
        if hit:
            out.append(Finding("constraint-violation", "high", "git", f"changed {path}, forbidden by --forbid {hit}",
                               f"forbid:{path}"))
        elif t.allow and not matches(path, list(t.allow)):
            out.append(Finding("constraint-violation", "medium", "git", f"changed {path}, outside --allow "
                               + ", ".join(t.allow), f"allow:{path}"))
        if is_rule_path(path):
            out.append(Finding("constraint-violation", "medium", "git",
                               f"changed the rule file {path} on the worker's branch", f"rules:{path}"))
    if t.current_branch and t.current_branch != t.branch and t.has_commits:
        out.append(Finding("constraint-violation", "medium", "git",
                           f"commits on branch {t.current_branch}, not the task's branch {t.branch}",
                           f"branch:{t.current_branch}:{t.head}"))
    return out


# --- authority, from the commands the worker ran --------------------------------------------------------------

_SPLIT = re.compile(r"&&|\|\||;|\n")


def _words(segment: str) -> list[str]:
    try:
        return shlex.split(segment)
    except ValueError:
        return segment.split()


def _git_args(words: list[str]) -> list[str] | None:
    """The arguments after `git` and its global options, or None when this is not a git command."""
    if not words or os.path.basename(words[0]) != "git":
        return None
    i = 1
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in ("-C", "-c", "--git-dir", "--work-tree") else 1
    return words[i:]


def _inside(path: str | None, base: str | None) -> bool:
    if not path or not base:
        return False
    path, base = os.path.realpath(path), os.path.realpath(base)
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def command_ops(cmd: str, cwd: str | None, t: TrustInput) -> list[tuple[str, str]]:
    """(what, needs) for each git operation in a shell line that needs more than commit authority.

    needs: push | merge | never (beyond any worker's authority).
    """
    ops = []
    other_branch = False  # a checkout/switch to a branch other than the task's happened in this line
    on_default = _inside(cwd, t.root) and not _inside(cwd, t.worktree)  # the integration checkout
    elsewhere = bool(cwd) and not _inside(cwd, t.worktree)
    for seg in _SPLIT.split(cmd):
        words = _words(seg.strip().lstrip("("))
        if len(words) >= 3 and words[0] == "gh" and words[1] == "pr" and words[2] == "merge":
            ops.append(("gh pr merge", "merge"))
            continue
        if words[:1] == ["cd"] and len(words) > 1 and words[1].startswith("/"):
            elsewhere = not _inside(words[1], t.worktree)
            on_default = _inside(words[1], t.root) and not _inside(words[1], t.worktree)
            continue
        args = _git_args(words)
        if not args:
            continue
        if "-C" in words[:words.index(args[0]) if args[0] in words else len(words)]:
            i = words.index("-C") + 1
            target = words[i] if i < len(words) else ""
            if target.startswith("/"):
                elsewhere = not _inside(target, t.worktree)
                on_default = _inside(target, t.root) and not _inside(target, t.worktree)
        sub, rest = args[0], args[1:]
        if sub in ("checkout", "switch"):
            names = [a for a in rest if not a.startswith("-")]
            if names and "--" not in rest and names[0] not in (t.branch, "."):
                other_branch = True
                on_default = names[0] == t.default_branch
        elif sub == "push":
            ops.append(("git push", "push"))
        elif sub == "merge" and not any(a in ("--abort", "--continue", "--quit") for a in rest):
            if on_default:
                ops.append((f"git merge into {t.default_branch}", "merge"))
        elif sub == "branch" and ("-D" in rest or (any(a in ("-d", "--delete") for a in rest)
                                                    and any(a in ("-f", "--force") for a in rest))):
            ops.append(("git branch -D", "never"))
        elif sub == "reset" and "--hard" in rest and (other_branch or elsewhere):
            ops.append(("git reset --hard on another branch", "never"))
        elif sub == "remote" and rest and rest[0] in ("add", "remove", "rm", "rename", "set-url", "set-head",
                                                       "set-branches"):
            ops.append((f"git remote {rest[0]}", "never"))
        elif sub == "config" and _config_writes(rest):
            ops.append(("git config change", "never"))
    return ops


def _config_writes(rest: list[str]) -> bool:
    reading = ("--get", "--get-all", "--get-regexp", "--list", "-l", "--show-origin", "--show-scope", "get", "list")
    if any(a in reading for a in rest):
        return False
    values = [a for a in rest if not a.startswith("-")]
    return len(values) >= 2 or any(a in ("--unset", "--unset-all", "--add", "--replace-all", "set", "unset",
                                         "--remove-section", "--rename-section") for a in rest)


_ALLOWED = {"commit": set(), "push": {"push"}, "merge": {"push", "merge"}}


def authority(t: TrustInput) -> list[Finding]:
    out = []
    allowed = _ALLOWED.get(t.authority, set())
    for sid, tr in t.trails:
        for run in tr.get("git_ops") or []:
            if run.get("rejected"):
                continue
            for what, needs in command_ops(run.get("cmd") or "", run.get("cwd"), t):
                if needs in allowed:
                    continue
                ok = run.get("exit") == 0
                result = "exited 0" if ok else ("exit unknown" if run.get("exit") is None else f"exited {run['exit']}")
                sev = "high" if needs in ("push", "merge") and ok else "medium"
                out.append(Finding("authority-exceeded", sev, "session-log",
                                   f"ran `{run.get('cmd')}` ({what}; {result}) with authority {t.authority}",
                                   f"cmd:{sid}:{run.get('at')}:{_h(run.get('cmd'))}"))
    if t.authority == "commit":
        for ref in t.remote_past_base:
            out.append(Finding("authority-exceeded", "high", "git",
                               f"{ref} moved past base: the branch was pushed with authority commit",
                               f"remote:{ref}"))
    return out


def pushback(t: TrustInput) -> list[Finding]:
    out = []
    for sid, tr in t.trails:
        for it in tr.get("interrupts") or []:
            out.append(Finding("pushback", "low", "session-log", f"the person stopped the worker ({it.get('how')})",
                               f"interrupt:{sid}:{it.get('at')}"))
        for c in tr.get("corrections") or []:
            out.append(Finding("pushback", "low", "session-log (inferred)",
                               f"the person corrected the worker (\"{c.get('word')}\"): {c.get('text')}",
                               f"correction:{sid}:{c.get('at')}"))
    return out


def check(t: TrustInput) -> list[Finding]:
    """Every finding for one task, most severe first, bounded."""
    found = write_set(t) + authority(t) + pushback(t)
    rank = {"high": 0, "medium": 1, "low": 2}
    seen, out = set(), []
    for f in sorted(found, key=lambda f: rank.get(f.severity, 9)):
        if f.key not in seen:
            seen.add(f.key)
            out.append(f)
    return out[:MAX_FINDINGS]
