"""Live trust checks (pure): constraint violations, authority exceeded, pushback, rules changed, claims as findings.

Each finding carries a dedupe key (the tick records it exactly once however often it is seen), a short label
for Act now, the next action a person takes (NEXT) and a pointer into the evidence: a session file, line and
time; a command and its exit code; a path and the rule it breaks; a remote-tracking ref.
Pushback from a person's words is `inferred` (English only; see probes/sessions/trail.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from dataclasses import dataclass, field

from orchestrator.classify.globs import matches
from orchestrator.rulefiles import RULE_NAMES, is_rule_path, named_for_change

MAX_FINDINGS = 20

# What a person does next about each kind of finding ({path}, {branch}, {ref}, {cmd}, {rule} filled in).
NEXT = {
    "forbid": "look at the change to {path} (`git diff BASE -- {path}`); have the worker revert it",
    "allow": "check whether {path} belongs to the task; revert it or dispatch with a wider --allow",
    "rules": "read the change to the rule file {path}; revert it unless the task was to change it",
    "branch": "ask the worker to move its commits to {branch}",
    "push": "look at what reached {ref} (`git log {ref}`); tell the worker its authority is {authority}",
    "merge": "check the default branch and revert the merge if it was not wanted; the worker may not merge",
    "never": "check what `{cmd}` changed; ask the worker why it ran it",
    "interrupt": "read the session at the pointer: what did the person stop, and did the worker take it up?",
    "correction": "check that the worker did what the correction asked",
    "rules-changed": "tell the worker the rules changed (or re-dispatch it on the new rules)",
}
CLAIM_LABELS = {"tests": "tests pass", "build": "the build passes", "lint": "lint passes", "clean": "worktree clean",
                "committed": "committed", "pushed": "pushed", "merged": "merged", "created": "files created",
                "files": "files changed", "nothing-else": "nothing else touched", "done": "done"}


@dataclass(frozen=True)
class Finding:
    category: str
    severity: str  # low | medium | high
    evidence_kind: str  # git | session-log | session-log (inferred)
    evidence: str
    key: str
    label: str = ""  # a few words for Act now: "pushed without push authority"
    next: str = ""
    pointer: dict = field(default_factory=dict)  # {file, line, at} | {cmd, exit} | {path, rule} | {ref}
    folds: tuple[str, ...] = ()  # keys of earlier findings this one stands for (resolved when it is raised)

    def as_dict(self) -> dict:
        return {"category": self.category, "severity": self.severity, "evidence_kind": self.evidence_kind,
                "evidence": self.evidence, "key": self.key,
                "detail": {"label": self.label, "next": self.next, "pointer": self.pointer}}


@dataclass(frozen=True)
class Session:
    """One session of the task: its id, its file, its trail (probes/sessions/trail.py)."""

    sid: str
    path: str | None
    trail: dict


@dataclass(frozen=True)
class TrustInput:
    """What the checks need about one task; gathered by the tick, nothing fetched here."""

    key: str
    branch: str
    default_branch: str
    authority: str = "commit"
    authority_default: bool = False  # dispatched without --authority
    push_rules: tuple[str, ...] = ()  # FILE:LINE of rule-file lines telling the worker to push
    allow: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    instruction: str | None = None
    worktree: str | None = None
    root: str | None = None  # the integration checkout
    current_branch: str | None = None  # the worktree's branch now (None: detached or unknown)
    has_commits: bool = False
    head: str | None = None
    changed: tuple[str, ...] = ()  # paths changed since base, committed or not
    remote_past_base: tuple[str, ...] = ()  # remote-tracking refs of the task branch that moved past base
    sessions: tuple[Session, ...] = ()
    rules_at_dispatch: str | None = None  # the rule-file hash stored at dispatch ("-": not recorded)
    rules_at_head: str | None = None  # the same hash at the worker's HEAD ("-": unknown)
    rules_on_default: str | None = None  # ... and at the default branch's head ("-": unknown)
    # i23: the brief's hash at dispatch and now go here, for "briefed on an older version" (see briefing()).


def _h(*parts) -> str:
    return hashlib.sha1("\0".join(str(p) for p in parts).encode("utf-8", "surrogateescape")).hexdigest()[:12]


def _at(sess: Session, item: dict) -> dict:
    return {k: v for k, v in (("file", sess.path), ("line", item.get("line")), ("at", item.get("at"))) if v}


# --- the write set ----------------------------------------------------------------------------------------------

def rules_asked(t: TrustInput) -> set[str]:
    """Rule files the task is to change: named by --allow, by the instruction, or asked for in the session."""
    asked = {name for name in RULE_NAMES if any(name in a for a in t.allow)} | named_for_change(t.instruction)
    for s in t.sessions:
        asked.update(s.trail.get("rules_asked") or [])
    return asked


def write_set(t: TrustInput) -> list[Finding]:
    out = []
    asked = rules_asked(t)
    for path in t.changed:
        hit = matches(path, list(t.forbid)) if t.forbid else None
        if hit:
            out.append(Finding("constraint-violation", "high", "git", f"changed {path}, forbidden by --forbid {hit}",
                               f"forbid:{path}", f"changed {path} (forbidden)", NEXT["forbid"].format(path=path),
                               {"path": path, "rule": f"--forbid {hit}"}))
        elif t.allow and not matches(path, list(t.allow)):
            out.append(Finding("constraint-violation", "medium", "git", f"changed {path}, outside --allow "
                               + ", ".join(t.allow), f"allow:{path}", f"changed {path} outside --allow",
                               NEXT["allow"].format(path=path), {"path": path, "rule": "--allow " + ", ".join(t.allow)}))
        if is_rule_path(path) and path.rsplit("/", 1)[-1] not in asked:
            out.append(Finding("constraint-violation", "medium", "git",
                               f"changed the rule file {path} on the worker's branch", f"rules:{path}",
                               f"changed rule file {path}", NEXT["rules"].format(path=path),
                               {"path": path, "rule": "rule files are the person's"}))
    if t.current_branch and t.current_branch != t.branch and t.has_commits:
        out.append(Finding("constraint-violation", "medium", "git",
                           f"commits on branch {t.current_branch}, not the task's branch {t.branch}",
                           f"branch:{t.current_branch}:{t.head}", f"commits on branch {t.current_branch}",
                           NEXT["branch"].format(branch=t.branch), {"branch": t.current_branch}))
    return out


# --- authority, from the commands the worker ran ------------------------------------------------------------

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


def _result(run: dict) -> str:
    return "exit unknown" if run.get("exit") is None else f"exited {run['exit']}"


def _cmd_key(sess, run: dict) -> str:
    return f"cmd:{sess.sid}:{run.get('at')}:{_h(run.get('cmd'))}"


def _shown(run: dict) -> str | None:
    """A git command as an item shows it: its git and cd steps when the line was too long to keep whole (a long
    commit message before `&& git push`), else the line."""
    return run.get("ops") or run.get("cmd")


def authority(t: TrustInput) -> list[Finding]:
    """Operations beyond the task's authority. One push is one finding: the session's `git push` and the
    remote-tracking ref it moved are one event; failed attempts before a push that went through fold into it.
    A worker whose rule files tell it to push, dispatched with the default authority, was warned about at
    dispatch: its pushes raise nothing."""
    out, pushes, failed = [], [], []
    allowed = _ALLOWED.get(t.authority, set())
    quiet_pushes = t.authority == "commit" and t.authority_default and bool(t.push_rules)
    for sess in t.sessions:
        for run in sess.trail.get("git_ops") or []:
            if run.get("rejected"):
                continue
            for what, needs in command_ops(_shown(run) or "", run.get("cwd"), t):
                if needs in allowed:
                    continue
                if needs == "push":
                    (pushes if run.get("exit") == 0 else failed).append((sess, run))
                    continue
                ok = run.get("exit") == 0
                sev = "high" if needs == "merge" and ok else "medium"
                out.append(Finding("authority-exceeded", sev, "session-log",
                                   f"ran `{_shown(run)}` ({what}; {_result(run)}) with authority {t.authority}",
                                   _cmd_key(sess, run),
                                   f"{'merged' if needs == 'merge' else 'ran ' + what} beyond its authority",
                                   NEXT["merge" if needs == "merge" else "never"].format(cmd=_shown(run)),
                                   {**_at(sess, run), "cmd": _shown(run), "exit": run.get("exit")}))
    if "push" in allowed or quiet_pushes:
        return out
    moved = list(t.remote_past_base)  # keyed by the ref: a push seen first in git, then in the log, is one finding
    if moved:
        ref = moved[0]
        said = f"; the session ran `{_shown(pushes[-1][1])}` (exited 0)" if pushes else ""
        ptr = {**_at(pushes[-1][0], pushes[-1][1]), "cmd": _shown(pushes[-1][1]), "exit": 0} if pushes else {}
        # the same push seen first in the log (a tick before the ref moved, or a push that moved no tracking
        # ref, then a fetch): its log-only item is folded into this one
        seen = tuple(_cmd_key(sess, run) for sess, run in pushes + failed)
        out.append(Finding("authority-exceeded", "high", "git",
                           f"{', '.join(moved)} moved past base: the branch was pushed with authority {t.authority}{said}",
                           f"remote:{ref}", "pushed without push authority",
                           NEXT["push"].format(ref=ref, authority=t.authority), {"ref": ref, **ptr}, folds=seen))
    elif pushes:
        sess, run = pushes[-1]
        out.append(Finding("authority-exceeded", "high", "session-log",
                           f"ran `{_shown(run)}` (git push; exited 0) with authority {t.authority}",
                           _cmd_key(sess, run), "pushed without push authority",
                           NEXT["push"].format(ref=f"origin/{t.branch}", authority=t.authority),
                           {**_at(sess, run), "cmd": _shown(run), "exit": 0}))
    if failed and not pushes and not moved:
        sess, run = failed[-1]
        out.append(Finding("authority-exceeded", "medium", "session-log",
                           f"tried `{_shown(run)}` (git push; {_result(run)}) with authority {t.authority}",
                           _cmd_key(sess, run), "tried to push without authority",
                           NEXT["push"].format(ref=f"origin/{t.branch}", authority=t.authority),
                           {**_at(sess, run), "cmd": _shown(run), "exit": run.get("exit")}))
    return out


def pushback(t: TrustInput) -> list[Finding]:
    out = []
    for sess in t.sessions:
        for it in sess.trail.get("interrupts") or []:
            out.append(Finding("pushback", "low", "session-log", f"the person stopped the worker ({it.get('how')})",
                               f"interrupt:{sess.sid}:{it.get('at')}", "stopped by the person", NEXT["interrupt"],
                               _at(sess, it)))
        for c in sess.trail.get("corrections") or []:
            out.append(Finding("pushback", "low", "session-log (inferred)",
                               f"the person corrected the worker (\"{c.get('word')}\"): {c.get('text')}",
                               f"correction:{sess.sid}:{c.get('at')}", "corrected by the person", NEXT["correction"],
                               _at(sess, c)))
    return out


def briefing(t: TrustInput) -> list[Finding]:
    """The worker runs under rules that changed since dispatch: on its branch (not by its own edit), or on the
    default branch while its branch keeps the old ones. (i23: compare the brief's hash here too.)"""
    then = t.rules_at_dispatch
    if then == "-":
        return []
    own_edit = any(is_rule_path(p) for p in t.changed)
    if t.rules_at_head not in ("-", then) and not own_edit:
        return [Finding("rules-changed", "low", "git", f"the rule files on the worker's branch changed since dispatch "
                        f"(hash {then or 'none'} → {t.rules_at_head or 'none'})", f"rules-head:{then}:{t.rules_at_head}",
                        "runs under changed rules", NEXT["rules-changed"], {"rule": "rule files at the worker's HEAD"})]
    if t.rules_on_default not in ("-", then) and t.rules_at_head in ("-", then):
        return [Finding("rules-changed", "low", "git", f"the rule files on {t.default_branch} changed since dispatch "
                        f"(hash {then or 'none'} → {t.rules_on_default or 'none'}); the worker runs under the old ones",
                        f"rules-default:{then}:{t.rules_on_default}", "runs under outdated rules",
                        NEXT["rules-changed"], {"rule": f"rule files on {t.default_branch}"})]
    return []


def claim_findings(judged: list[dict], found: list[dict], sess: Session, said: dict, checks: dict) -> list[Finding]:
    """The claims that became findings (classify/claims.findings), with their pointer into the session."""
    out = []
    where = _at(sess, said)
    for f in found:
        c = f["claim"]
        run = checks.get(c["kind"]) or {}
        ptr = {**where, **({"cmd": run.get("cmd"), "exit": run.get("exit"), "cmd_line": run.get("line")} if run else {})}
        label = ("did otherwise than asked" if c["kind"] == "deviation"
                 else f"says {CLAIM_LABELS.get(c['kind'], c['kind'])}: {c['verdict']}")
        text = (f"reports \"{c['text']}\": {c['why']}" if c["kind"] == "deviation"
                else f"claims \"{c['text']}\" but {c['why']} ({c['verdict']})")
        out.append(Finding(f["category"], f["severity"], "session-log" if c["kind"] != "deviation"
                           else "session-log (inferred)", text, claim_key(sess.sid, said, c["kind"]), label,
                           f["next"], ptr))
    return out


def claim_key(sid: str, said: dict, kind: str) -> str:
    return f"claim:{sid}:{said.get('at')}:{kind}"


def check(t: TrustInput) -> list[Finding]:
    """Every finding for one task but the claims', most severe first, bounded."""
    found = write_set(t) + authority(t) + pushback(t) + briefing(t)
    rank = {"high": 0, "medium": 1, "low": 2}
    seen, out = set(), []
    for f in sorted(found, key=lambda f: rank.get(f.severity, 9)):
        if f.key not in seen:
            seen.add(f.key)
            out.append(f)
    return out[:MAX_FINDINGS]


__all__ = ["Finding", "Session", "TrustInput", "check", "claim_findings", "command_ops", "matches"]
