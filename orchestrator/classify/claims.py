"""Claims a worker makes in its final message, and their verdicts against the evidence (pure, English only).

Extraction keeps only the sentences that make a checkable claim, redacted and at most 300 characters:
tests/build/lint passed, committed/pushed/merged, files created or changed, nothing else touched,
done or ready for review. A sentence that negates or hedges ("tests not run", "I could not run the
tests", "not committed yet") makes no claim. Verdicts: verified, unverified (no evidence either way),
contradicted (evidence against it), stale (it held before a later edit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from orchestrator.redact import redact

KINDS = ("tests", "build", "lint", "committed", "pushed", "merged", "files", "nothing-else", "done")
VERDICTS = ("verified", "unverified", "contradicted", "stale")
TEXT_MAX = 300
MAX_CLAIMS = 12

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`*\"'(])|\n+")
_NEG = re.compile(
    r"\b(not|never|no longer|unable|cannot|can't|couldn't|could not|didn't|did not|don't|do not|haven't|have not|"
    r"hasn't|has not|wasn't|weren't|won't|isn't|aren't|without|skipp(?:ed|ing)|pending|yet to|still need|"
    r"todo|unverified|untested|fail(?:s|ed|ing|ure|ures)?|broken|error(?:s)?|if you|once you|should pass|"
    r"would|might|may need|next step|remaining)\b", re.I)
_PASS = r"(?:pass(?:es|ed|ing)?|succeed(?:s|ed)?|successful(?:ly)?|green|clean(?:ly)?|ok|okay|good|work(?:s|ing)?)"
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("tests", re.compile(
        rf"\b(?:tests?|test suite|specs?|pytest|jest|vitest|unit tests?|integration tests?|e2e)\b[^.!?\n]{{0,60}}?"
        rf"\b{_PASS}\b|\b(?:all|\d+)\s+(?:\w+\s+){{0,2}}(?:tests?|specs?)\b[^.!?\n]{{0,30}}\b{_PASS}\b|"
        rf"\b\d+ passed\b|\btests? (?:are|is) (?:all )?green\b", re.I)),
    ("build", re.compile(
        rf"\b(?:build|builds|compil(?:es|ation|ed)|tsc|cargo build|go build)\b[^.!?\n]{{0,40}}?\b{_PASS}\b|"
        rf"\b(?:builds|compiles) (?:without (?:errors|warnings)|fine)\b", re.I)),
    ("lint", re.compile(
        rf"\b(?:lint(?:er|ers|ing)?|ruff|eslint|flake8|pylint|mypy|type ?check(?:s|ing|er)?|clippy|credo|"
        rf"prettier|format(?:ting)? checks?)\b[^.!?\n]{{0,40}}?\b{_PASS}\b|\bno (?:lint|type) (?:errors|issues)\b",
        re.I)),
    ("committed", re.compile(r"\b(?:committed|commit(?:ted)? (?:the|my|all|these) changes|created (?:a )?commit|"
                             r"made (?:a )?commit)\b", re.I)),
    ("pushed", re.compile(r"\b(?:pushed|is pushed|are pushed)\b", re.I)),
    ("merged", re.compile(r"\b(?:merged|have merged|has been merged)\b", re.I)),
    ("nothing-else", re.compile(r"\b(?:nothing else|no other (?:files?|changes?)|(?:only|just) (?:changed|touched|"
                                r"modified|edited)|didn't touch anything else|left everything else)\b", re.I)),
    ("done", re.compile(r"\b(?:done|complete[d]?|finished|ready for (?:review|merge)|all set|implemented|"
                        r"task is complete|work is complete)\b", re.I)),
]
# "nothing else touched" and "didn't touch anything else" are claims even though they contain a negation.
_NEG_OK = {"nothing-else"}
_FILE = re.compile(r"`([^`\s]+\.[A-Za-z0-9]{1,8})`|(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:py|js|ts|tsx|jsx|go|rs|rb|"
                   r"java|kt|c|h|cpp|md|toml|yaml|yml|json|sql|sh|ex|exs|css|html|txt|cfg|ini))\b")
_FILE_VERB = re.compile(r"\b(?:created|added|updated|changed|modified|edited|wrote|rewrote|touched|renamed|implemented|fixed|"
                        r"new file|changes? (?:to|in))\b", re.I)

# Commands that check something, by what they check (first match wins), matched at the start of each
# command in a shell line, after wrappers such as `cd X &&`, `uv run`, `python -m`, `npx`, `.venv/bin/`.
CHECK_COMMANDS: list[tuple[str, re.Pattern]] = [
    ("tests", re.compile(r"^(?:pytest|py\.test|tox|nox|unittest|jest|vitest|mocha|rspec|phpunit|ctest|"
                         r"(?:npm|pnpm|yarn|bun)(?: run)? test|go test|cargo test|mix test|make (?:test|check)|"
                         r"\./gradlew test|gradle test|mvn test|dotnet test|deno test|rake test|bundle exec rspec)\b")),
    ("lint", re.compile(r"^(?:ruff|flake8|pylint|mypy|pyright|eslint|tslint|golangci-lint|cargo clippy|"
                        r"mix credo|rubocop|shellcheck|prettier --check|(?:npm|pnpm|yarn|bun)(?: run)? "
                        r"(?:lint|typecheck)|make lint|tsc --noEmit)\b")),
    ("build", re.compile(r"^(?:(?:npm|pnpm|yarn|bun)(?: run)? build|cargo build|go build|mix compile|tsc|"
                         r"make|\./gradlew build|gradle build|mvn (?:package|compile)|dotnet build|"
                         r"vite build|webpack)\b")),
]
_SEGMENT = re.compile(r"&&|\|\||;|\||\n")
_WRAPPER = re.compile(r"^(?:(?:[A-Za-z_][A-Za-z0-9_]*=\S*|env|time|timeout \d+[smh]?|uv run|poetry run|pdm run|"
                      r"pipenv run|npx|pnpm exec|bunx|bundle exec|(?:\S*/)?python3?(?:\.\d+)? -m|sudo)\s+)+")


def check_kind(cmd: str) -> str | None:
    """tests, lint or build when a shell command runs that kind of check, else None."""
    for seg in _SEGMENT.split(cmd):
        seg = _WRAPPER.sub("", seg.strip().strip("()")).strip()
        seg = re.sub(r"^(?:\S*/)?(?:\.venv|venv|node_modules)/\S*bin/", "", seg)
        for kind, pat in CHECK_COMMANDS:
            if pat.search(seg):
                return kind
    return None


def _sentences(text: str) -> list[str]:
    out = []
    for part in _SPLIT.split(text):
        part = part.strip().lstrip("-*•> ").strip()
        if part:
            out.append(part)
    return out


def _bounded(text: str) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= TEXT_MAX else text[:TEXT_MAX - 1] + "…"


def extract(message: str | None) -> list[dict]:
    """The checkable claims in a final message: [{kind, text, paths?}], at most one per kind."""
    if not message or not isinstance(message, str):
        return []
    found: dict[str, dict] = {}
    files: list[str] = []
    file_text = None
    for sent in _sentences(message[:20000]):
        negated = bool(_NEG.search(sent))
        for kind, pat in _PATTERNS:
            if kind in found or not pat.search(sent):
                continue
            if negated and kind not in _NEG_OK:
                continue
            if kind == "done" and re.search(r"\?\s*$", sent):
                continue  # "Shall I ...?"/"Is this done?" asks, it does not claim
            found[kind] = {"kind": kind, "text": _bounded(sent)}
        if _FILE_VERB.search(sent) and not negated:
            paths = [a or b for a, b in _FILE.findall(sent)]
            if paths:
                files += [p for p in paths if p not in files]
                file_text = file_text or sent
    if files:
        found["files"] = {"kind": "files", "text": _bounded(file_text or ""), "paths": files[:20]}
    return [found[k] for k in KINDS if k in found][:MAX_CLAIMS]


@dataclass(frozen=True)
class CheckRun:
    """The last run of one kind of check in the session: its command, when it ended, how it exited."""

    cmd: str
    at: datetime | None
    exit: int | None


@dataclass(frozen=True)
class ClaimEvidence:
    """Everything the verdicts rest on, gathered by the probes."""

    checks: dict[str, CheckRun] = field(default_factory=dict)  # tests/build/lint -> last run in the session
    last_edit_at: datetime | None = None  # the session's last file edit
    claim_at: datetime | None = None  # when the final message was written
    has_commits: bool | None = None  # None: git not known
    dirty: int = 0
    changed: tuple[str, ...] = ()  # paths changed since base, committed or not
    pushed: bool | None = None  # the remote-tracking ref equals HEAD; None: no remote at all
    merged: bool = False
    gates: dict[str, int | None] = field(default_factory=dict)  # check kind -> exit code of a gate run on HEAD
    allow: tuple[str, ...] = ()
    outside_allow: tuple[str, ...] = ()


def _check(kind: str, ev: ClaimEvidence) -> tuple[str, str]:
    run = ev.checks.get(kind)
    gate = ev.gates.get(kind, "none")
    if run is not None and run.exit is not None:
        if run.exit != 0:
            if gate == 0:
                return "verified", f"a gate run on HEAD passed (the session's `{run.cmd}` exited {run.exit})"
            return "contradicted", f"`{run.cmd}` exited {run.exit}"
        if ev.last_edit_at and run.at and ev.last_edit_at > run.at:
            if gate == 0:
                return "verified", "a gate run on HEAD passed"
            return "stale", f"`{run.cmd}` passed, then files were edited"
        return "verified", f"`{run.cmd}` exited 0 after the last edit"
    if gate == 0:
        return "verified", "a gate run on HEAD passed"
    if gate not in ("none", None):
        return "contradicted", f"a gate run on HEAD exited {gate}"
    return "unverified", "no such check ran in the session or as a gate on HEAD"


def _matches(claimed: str, changed: tuple[str, ...]) -> bool:
    c = claimed.strip("./")
    return any(p == c or p.endswith("/" + c) or c.endswith("/" + p) for p in changed)


def verdict(claim: dict, ev: ClaimEvidence, others: list[str] = ()) -> tuple[str, str]:
    """(verdict, why) for one claim; `others` are the verdicts of the message's other claims."""
    kind = claim["kind"]
    if kind in ("tests", "build", "lint"):
        return _check(kind, ev)
    if ev.has_commits is None:
        return "unverified", "git state unknown"
    if kind == "committed":
        if not ev.has_commits:
            return "contradicted", "no commits after base"
        return ("verified", "commits after base") if not ev.dirty else (
            "unverified", f"commits after base, but {ev.dirty} uncommitted change(s) remain")
    if kind == "pushed":
        if ev.pushed is None:
            return "contradicted", "the branch has no remote-tracking ref"
        return ("verified", "the remote-tracking ref is at HEAD") if ev.pushed else (
            "contradicted", "the remote-tracking ref is behind HEAD")
    if kind == "merged":
        return ("verified", "the commits reached the default branch") if ev.merged else (
            "contradicted", "the commits are not on the default branch")
    if kind == "files":
        paths = claim.get("paths") or []
        missing = [p for p in paths if not _matches(p, ev.changed)]
        if not missing:
            return "verified", "every named file changed since base"
        if len(missing) == len(paths) and not ev.changed:
            return "contradicted", "nothing changed since base"
        return "unverified", f"not changed since base: {', '.join(missing[:3])}"
    if kind == "nothing-else":
        if ev.outside_allow:
            return "contradicted", f"also changed: {', '.join(ev.outside_allow[:3])}"
        return ("verified", "every change is inside --allow") if ev.allow else (
            "unverified", "no --allow to check against")
    if kind == "done":
        if not ev.has_commits and not ev.dirty:
            return "contradicted", "nothing changed since base"
        if "contradicted" in others:
            return "contradicted", "another claim in the same message is contradicted"
        if ev.dirty:
            return "unverified", f"{ev.dirty} uncommitted change(s)"
        if ev.last_edit_at and ev.claim_at and ev.last_edit_at > ev.claim_at:
            return "stale", "files were edited after the claim"
        return "verified", "commits after base, worktree clean"
    return "unverified", "unknown claim"


def judge(claims: list[dict], ev: ClaimEvidence) -> list[dict]:
    """Every claim with its verdict and why; `done` is judged last, knowing the others."""
    out = []
    for c in claims:
        if c["kind"] == "done":
            continue
        v, why = verdict(c, ev)
        out.append({**c, "verdict": v, "why": why})
    for c in claims:
        if c["kind"] == "done":
            v, why = verdict(c, ev, [o["verdict"] for o in out])
            out.append({**c, "verdict": v, "why": why})
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(out, key=lambda c: order.get(c["kind"], 99))


def mismatches(judged: list[dict]) -> list[dict]:
    """The claims that become self-report-mismatch events: contradicted or unverified `done` / `tests`."""
    return [c for c in judged if c["kind"] in ("done", "tests") and c["verdict"] in ("contradicted", "unverified")]
