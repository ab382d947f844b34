"""The shared steps of a session trail (probes/sessions/trail.py): commands started and ended (also in the
background), edits, what the worker said, the person's messages, interrupts. Pure: a dict in, the dict changed."""

from __future__ import annotations

import re

from orchestrator.classify.checks import check_kind, exit_trusted, output_says
from orchestrator.classify.claims import extract, words
from orchestrator.redact import redact
from orchestrator.rulefiles import named_for_change

CMD_MAX = 200  # a command as shown
OPS_MAX = 600  # a long command's git and cd steps, as the trust check reads them (see git_steps)
_STEP = re.compile(r"&&|\|\||;|\|")
RECENT = 12
EVENTS = 10
PENDING_MAX = 30
ASKED_MAX = 60
EDIT_TOOLS = ("Edit", "Write", "MultiEdit", "NotebookEdit")
# Git and GitHub operations the trust checks judge against the task's authority.
GIT_OP = re.compile(r"\b(?:git\b[^|;&\n]*?\b(?:push|merge|branch|reset|remote|config|checkout|switch)\b|"
                    r"gh\s+pr\s+merge)")
# A person's correction, right after an agent action (inferred, English only) ...
PUSHBACK = re.compile(r"^\W*(stop|no|nope|don'?t|do not|wait|undo|revert|hold on)\b", re.I)
# ... unless it only adds something or reassures: "don't forget …", "no problem", "wait for CI".
NOT_PUSHBACK = re.compile(r"^\W*(?:no (?:problem|worries|thanks|need to worry|rush|hurry)\b|(?:don'?t|do not) "
                          r"(?:forget|worry|hesitate|bother)\b|wait(?:ing)? (?:for|until)\b|nope,? (?:all )?good\b)",
                          re.I)


def new() -> dict:
    return {"cmds": [], "pending": {}, "running": {}, "polls": {}, "checks": {}, "git_ops": [], "edits": [],
            "last_edit_at": None, "final": None, "draft": None, "interrupts": [], "corrections": [], "acted": False,
            "notice": False, "asked": [], "rules_asked": [], "line": None}


def push_bounded(lst: list, item, limit: int) -> None:
    lst.append(item)
    del lst[:-limit]


def as_str(v) -> str | None:
    return v if isinstance(v, str) else None


def acted(tr: dict) -> None:
    """The agent did something: a message it wrote before this was not its last word."""
    tr["acted"] = True
    tr["draft"] = None
    tr["idle"] = False


def start_cmd(tr: dict, call_id: str | None, cmd: str, cwd: str | None, at: str | None) -> None:
    acted(tr)
    if not call_id or len(tr["pending"]) >= PENDING_MAX:
        return
    line = " ".join(cmd.split())
    git = bool(GIT_OP.search(cmd))
    tr["pending"][call_id] = {"cmd": redact(line)[:CMD_MAX], "cwd": cwd, "at": at, "kind": check_kind(cmd),
                              "git": git, "trusted": exit_trusted(cmd), "line": tr.get("line")}
    if git and len(line) > CMD_MAX:
        steps = git_steps(line)
        if steps and steps not in line[:CMD_MAX]:  # not already in what is kept of the command
            tr["pending"][call_id]["ops"] = steps


def git_steps(line: str) -> str | None:
    """The git, gh and cd steps of a shell line too long to keep whole: a long commit message must not hide the
    `git push` after it. Each step redacted, then cut to 120 characters; at most OPS_MAX in all."""
    steps = [redact(step.strip())[:120] for step in _STEP.split(line[:65536])
             if step.strip().lstrip("(").startswith(("git ", "gh ", "cd ")) and (GIT_OP.search(step) or
                                                                                   step.strip().startswith("cd "))]
    return " && ".join(steps)[:OPS_MAX] if any(GIT_OP.search(st) for st in steps) else None


def finish(tr: dict, run: dict, exit_code: int | None, at: str | None, output: str | None = None,
            rejected: bool = False) -> None:
    """A command ended: its exit code (unknown when the shell line hides it), what its output says if a check."""
    trusted = run.get("trusted", True)
    done = {"cmd": run["cmd"], "cwd": run["cwd"], "at": run["at"], "end": at,
            "exit": exit_code if trusted else None, "line": run.get("line")}
    if not trusted and exit_code is not None:
        done["masked"] = exit_code
    if run.get("kind") and (not trusted or exit_code is None):
        done["said"] = output_says(output)
    if rejected:
        done["rejected"] = True
    push_bounded(tr["cmds"], done, RECENT)
    if run.get("kind") and not rejected:
        tr["checks"][run["kind"]] = done
    if run.get("git"):
        push_bounded(tr["git_ops"], {**done, "ops": run["ops"]} if run.get("ops") else done, EVENTS)


def end_cmd(tr: dict, call_id: str | None, exit_code: int | None, at: str | None, rejected: bool = False,
             output: str | None = None) -> None:
    run = tr["pending"].pop(call_id or "", None)
    if run is not None:
        finish(tr, run, exit_code, at, output, rejected)


def to_background(tr: dict, call_id: str | None, key: str) -> None:
    """A command still running under its own id (Codex session id, Claude background task id)."""
    run = tr["pending"].pop(call_id or "", None)
    if run is not None and len(tr["running"]) < PENDING_MAX:
        tr["running"][key] = {**run, "call": call_id}


def end_background(tr: dict, key: str | None, exit_code: int | None, at: str | None, output: str | None) -> bool:
    run = tr["running"].pop(key or "", None)
    if run is None:
        return False
    finish(tr, run, exit_code, at, output)
    return True


def edit(tr: dict, path: str | None, at: str | None) -> None:
    acted(tr)
    if path:
        push_bounded(tr["edits"], {"path": path[:300], "at": at}, RECENT)
    tr["last_edit_at"] = at or tr["last_edit_at"]


def said(tr: dict, text: str | None, at: str | None, final: bool) -> None:
    if not text:
        return
    tr["acted"] = True
    if tr.get("notice"):
        return  # answering a background task's notice: not the worker's last word on its task
    item = {"at": at, "line": tr.get("line"), "claims": extract(text)}
    if final:
        tr["final"], tr["draft"] = item, None
    else:
        tr["draft"] = item


def close_turn(tr: dict) -> None:
    if tr["draft"] is not None:
        tr["final"], tr["draft"] = tr["draft"], None


def user(tr: dict, text: str | None, at: str | None) -> None:
    """A person's message: a correction when it follows an agent action and starts like one."""
    if not text:
        return
    tr["notice"] = False
    if tr["acted"]:
        m = PUSHBACK.match(text)
        if m and not NOT_PUSHBACK.match(text):
            push_bounded(tr["corrections"], {"at": at, "line": tr.get("line"), "word": m.group(1).lower(),
                                      "text": redact(" ".join(text.split()))[:160]}, EVENTS)
    tr["acted"] = False
    asked(tr, text)


def asked(tr: dict, text: str, init_rules: str | None = None) -> None:
    """What the person asked for: its content words (for deviations) and the rule files it asks to change."""
    tr["asked"] = (words(text, 30) + [w for w in tr["asked"] if w not in words(text, 30)])[:ASKED_MAX]
    named = named_for_change(text)
    if init_rules:
        named.add(init_rules)
    for name in sorted(named):
        if name not in tr["rules_asked"]:
            tr["rules_asked"].append(name)


def interrupt(tr: dict, at: str | None, how: str) -> None:
    push_bounded(tr["interrupts"], {"at": at, "line": tr.get("line"), "how": how}, EVENTS)
    tr["pending"] = {}
    tr["acted"] = False
