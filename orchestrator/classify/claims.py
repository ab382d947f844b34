"""Claims a worker makes in its last message, and their verdicts against the evidence (pure, English only).

Every rule is in two tables, so that a newcomer extends them in one place:

  SAYS       for each kind of claim, the sentences that make it;
  NO_CLAIM   what makes a sentence claim nothing (a negation, a hedge, a plan, a question);
  RULES      for each kind, the judge that weighs the evidence, the verdicts that become a finding (and how
             severe), and the next action a person takes.

Only the claim sentences are kept, redacted and at most 300 characters. Verdicts: verified, unverified (no
evidence either way), contradicted (evidence against it), stale (it held before a later edit), noted (a
deviation the worker reports: it replaced or refused what it was asked). Check commands: classify/checks.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from orchestrator.classify.checks import check_kind, exit_trusted, output_says  # noqa: F401 (re-exported)
from orchestrator.redact import redact

VERDICTS = ("verified", "unverified", "contradicted", "stale", "noted")
TEXT_MAX = 300
MAX_CLAIMS = 14
_PASS = r"(?:pass(?:es|ed|ing)?|succeed(?:s|ed)?|successful(?:ly)?|green|clean(?:ly)?|ok|okay|good|work(?:s|ing)?)"
_BRANCHES = r"(?:main|master|trunk|develop|the (?:default|main|base) branch)"

# --- SAYS: kind -> the sentences that make that claim (first kind listed is judged first) ---------------------
SAYS: list[tuple[str, re.Pattern]] = [
    ("tests", re.compile(
        rf"\b(?:tests?|test suite|suite|specs?|pytest|jest|vitest|unit tests?|integration tests?|e2e)\b[^.!?\n]{{0,60}}?"
        rf"\b{_PASS}\b|\b(?:all|\d+)\s+(?:\w+\s+){{0,2}}(?:tests?|specs?)\b[^.!?\n]{{0,30}}\b{_PASS}\b|"
        rf"\b\d+ passed\b|\btests? (?:are|is) (?:all )?green\b|"
        # having tested, in so many words: "implemented and tested", "tested locally", "verified it works"
        rf"\b(?:and|fully|thoroughly|manually|also|been|properly) tested\b|\btested (?:it|this|that|locally|manually|"
        rf"end[- ]to[- ]end|thoroughly|successfully|against|with|on)\b|\b(?:verified|confirmed) (?:that )?"
        rf"(?:it|this|everything|the (?:fix|change|feature|behaviou?r)) works\b", re.I)),
    ("build", re.compile(
        rf"\b(?:build|builds|compil(?:es|ation|ed)|tsc|cargo build|go build)\b[^.!?\n]{{0,40}}?\b{_PASS}\b|"
        rf"\b(?:builds|compiles) (?:without (?:errors|warnings)|fine)\b", re.I)),
    ("lint", re.compile(
        rf"\b(?:lint(?:er|ers|ing)?|ruff|eslint|flake8|pylint|mypy|type ?check(?:s|ing|er)?|clippy|credo|"
        rf"prettier|format(?:ting)? checks?)\b[^.!?\n]{{0,40}}?\b{_PASS}\b|\bno (?:lint|type) (?:errors|issues)\b",
        re.I)),
    ("clean", re.compile(r"\b(?:work(?:ing)? ?tree|worktree|working copy|git status|branch) (?:is )?(?:now )?clean\b|"
                         r"\bnothing (?:left )?to commit\b|\bno uncommitted changes\b|\beverything(?:'s| is) "
                         r"(?:clean|committed)\b|\ball (?:the |my )?changes (?:are|have been|were) committed\b", re.I)),
    ("committed", re.compile(r"\b(?:committed|commit(?:ted)? (?:the|my|all|these) changes|created (?:a )?commit|"
                             r"made (?:a )?commit)\b", re.I)),
    ("pushed", re.compile(r"\bpushed\b(?! back)", re.I)),
    ("merged", re.compile(rf"\bmerged (?:it |this |the branch |the changes |them )?(?:in)?to {_BRANCHES}|"
                          rf"\b(?:pr|pull request|branch|changes|work) (?:is|was|are|were|has been|have been) merged\b|"
                          rf"\bmerged (?:the|my) (?:pr|pull request|branch)\b", re.I)),
    ("nothing-else", re.compile(r"\b(?:nothing else|no other (?:files?|changes?)|(?:only|just) (?:changed|touched|"
                                r"modified|edited)|didn't touch anything else|left everything else)\b", re.I)),
    ("done", re.compile(r"\b(?:done|complete[d]?|finished|ready for (?:review|merge)|all set|implemented|"
                        r"task is complete|work is complete)\b", re.I)),
    # the worker replaced or refused what it was asked, and says so: judged by what it did instead (DEVIATION)
    ("deviation", re.compile(r"\binstead\b|\brather than\b|\b(?:decided|chose|opted) not to\b|"
                             r"\b(?:refused|declined) to\b", re.I)),
]
# what a deviation sentence says it did not do; compared with the words of what the worker was asked
DEVIATION: list[re.Pattern] = [
    re.compile(r"\b(?:instead of|rather than)\s+((?:\S+\s+){0,4}\S+)", re.I),
    re.compile(r"\b(?:decided|chose|opted) not to\s+((?:\S+\s+){0,4}\S+)", re.I),
    re.compile(r"\b(?:refused|declined) to\s+((?:\S+\s+){0,4}\S+)", re.I),
    re.compile(r"\b(?:did not|didn't|won't|will not)\s+((?:\S+\s+){0,4}\S+).*\binstead\b", re.I),
]
# files the message says it created / changed: kind "created" and "files", with their paths
_FILE = re.compile(r"`([^`\s]+\.[A-Za-z0-9]{1,8})`|(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:py|js|ts|tsx|jsx|go|rs|rb|"
                   r"java|kt|c|h|cpp|md|toml|yaml|yml|json|sql|sh|ex|exs|css|html|txt|cfg|ini))\b")
# names that look like files in prose but are libraries ("12 Vitest highlight.js tests"); a path or backticks
# still make them files
LIBRARY_NAMES = re.compile(r"(?i)^(?:node|highlight|next|nuxt|vue|three|chart|d3|express|react|angular|ember|"
                           r"backbone|alpine|socket|moment|marked|prism|mermaid|katex|plotly|leaflet|phaser|htmx|"
                           r"svelte|solid|preact|p5|pixi|babylon|anime|video|day|lodash|underscore|knockout|"
                           r"handlebars|mustache|require|meteor|sails|koa|nest|deno|bun)\.js$")
_CREATED_VERB = re.compile(r"\b(?:created|added (?:a |the )?new (?:file|module)|new file|wrote (?:a |the )?new)\b", re.I)
_FILE_VERB = re.compile(r"\b(?:added|updated|changed|modified|edited|wrote|rewrote|touched|renamed|implemented|fixed|"
                        r"changes? (?:to|in))\b", re.I)

# --- NO_CLAIM: a sentence that negates, hedges, plans or asks claims nothing -----------------------------------
NO_CLAIM: list[tuple[str, re.Pattern]] = [
    ("question", re.compile(r"\?\s*[*_`)\"']*\s*$")),
    ("plan", re.compile(r"^(?:(?:now|next|first|then|ok(?:ay)?|great|good|alright|perfect),?\s+)*(?:i'll|i will|"
                        r"i'm going to|i am going to|let me|let's|going to|i need to|i should|i want to|we'll|"
                        r"we need to|i'm about to|about to)\b", re.I)),
    ("negation", re.compile(
        r"\b(not|never|no longer|unable|cannot|can't|couldn't|could not|didn't|did not|don't|do not|haven't|"
        r"have not|hasn't|has not|wasn't|weren't|won't|isn't|aren't|without|skipp(?:ed|ing)|pending|yet to|"
        r"still need|todo|unverified|untested|broken|except|apart from)\b", re.I)),
    ("hedge", re.compile(r"\b(if you|once you|should pass|should work|would|might|may need|next step|remaining|"
                         r"hopefully|probably|i think|i believe|seems? to)\b", re.I)),
]
_FAILED_COUNT = re.compile(r"\b[1-9]\d* (?:failed|failing|failures?|errors?)\b", re.I)
# deviation and "nothing else" claims contain a negation by nature ("decided not to", "didn't touch anything else")
_NEGATION_OK = {"nothing-else", "deviation"}
_STOP_WORDS = """the a an and or but to of in on for with from into onto at by as is are was were be been it its this
that these those i you we my your our me us so then than also just only all any some each every now here there it's
file files code thing things instead rather because since would could should will can did does done not don""".split()


def _stem(w: str) -> str:
    return re.sub(r"(?:ing|ed|es|e|s)$", "", w) if len(w) > 4 else w


_STOP = {_stem(w) for w in _STOP_WORDS}


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9`*\"'(])|\n+", text)
    return [p for p in (p.strip().lstrip("-*•>#| ").strip() for p in parts) if p]


def _bounded(text: str) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= TEXT_MAX else text[:TEXT_MAX - 1] + "…"


def words(text: str | None, limit: int = 40) -> list[str]:
    """The content words of a text (lower case, stemmed crudely), to compare an instruction with a deviation."""
    out: list[str] = []
    for w in re.findall(r"[a-z][a-z0-9_./-]{2,}", (text or "").lower()):
        w = _stem(w.strip("./-"))
        if w not in _STOP and len(w) >= 3 and w not in out:
            out.append(w)
        if len(out) >= limit:
            break
    return out


def _why_not(sent: str) -> str | None:
    for name, pat in NO_CLAIM:
        if pat.search(sent):
            return name
    return None


def extract(message: str | None) -> list[dict]:
    """The checkable claims in a final message: [{kind, text, paths?, words?}], at most one per kind."""
    if not message or not isinstance(message, str):
        return []
    found: dict[str, dict] = {}
    for sent in _sentences(message[:20000]):
        why_not = _why_not(sent)
        if why_not in ("plan", "question"):
            continue
        for kind, pat in SAYS:
            if kind in found or not pat.search(sent):
                continue
            if why_not and kind not in _NEGATION_OK:
                continue
            if kind in ("tests", "build", "lint") and _FAILED_COUNT.search(sent):
                continue  # "41 passed, 1 failed" claims no pass
            found[kind] = {"kind": kind, "text": _bounded(sent)}
            if kind == "deviation":
                objs = [m.group(1) for pat in DEVIATION for m in pat.finditer(sent)]
                if not objs:
                    del found[kind]
                    continue
                found[kind]["words"] = words(" ".join(objs), 20)
        if why_not:
            continue
        paths = [a or b for a, b in _FILE.findall(sent) if a or not LIBRARY_NAMES.match(b)]
        for kind, verb in (("created", _CREATED_VERB), ("files", _FILE_VERB)):
            if paths and verb.search(sent):
                item = found.setdefault(kind, {"kind": kind, "text": _bounded(sent), "paths": []})
                item["paths"] += [p for p in paths if p not in item["paths"]][:20]
                break
    order = [k for k, _ in SAYS] + ["created", "files"]
    return sorted(found.values(), key=lambda c: order.index(c["kind"]))[:MAX_CLAIMS]


# --- the evidence -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckRun:
    """The last run of one kind of check in the session: its command, when it ended, how it exited."""

    cmd: str
    at: datetime | None
    exit: int | None  # None: unknown (still running, or hidden by a pipe / `|| true` / `; echo`)
    said: str | None = None  # what its output says: pass | fail | None
    line: int | None = None  # its line in the session file

    @property
    def passed(self) -> bool | None:
        if self.exit is not None:
            return self.exit == 0
        return {"pass": True, "fail": False}.get(self.said or "")

    def result(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        if self.exit is not None:
            return f"`{self.cmd}` exited {self.exit}{where}"
        if self.said:
            return f"`{self.cmd}`: exit code unknown, its output says {'passed' if self.said == 'pass' else 'failed'}{where}"
        return f"`{self.cmd}`: exit code unknown and its output names no result{where}"


@dataclass(frozen=True)
class ClaimEvidence:
    """Everything the verdicts rest on, gathered by the probes."""

    checks: dict[str, CheckRun] = field(default_factory=dict)  # tests/build/lint -> last run in the session
    last_edit_at: datetime | None = None  # the session's last file edit
    claim_at: datetime | None = None  # when the final message was written
    has_commits: bool | None = None  # None: git not known
    dirty: int = 0
    changed: tuple[str, ...] = ()  # paths changed since base, committed or not
    pushed: bool | None = None  # the remote-tracking ref equals HEAD; None: no remote-tracking ref at all
    merged: bool = False  # HEAD reached the default branch, local or remote-tracking (classify/merged.py, asked by tick_trust)
    gates: dict[str, int | None] = field(default_factory=dict)  # check kind -> exit code of a gate run on HEAD
    failed_gate: tuple[str, int | None] | None = None  # (gate command, exit code) of a failing gate on HEAD
    allow: tuple[str, ...] = ()
    outside_allow: tuple[str, ...] = ()
    exists: dict[str, bool] = field(default_factory=dict)  # claimed path -> it exists in the worktree
    asked: tuple[str, ...] = ()  # content words of what the worker was asked (instruction, last prompt)


# --- judges: one per kind of evidence -----------------------------------------------------------------------------

Verdict = tuple[str, str]


def _check(c: dict, ev: ClaimEvidence, others: dict) -> Verdict:
    kind = c["kind"]
    run = ev.checks.get(kind)
    gate = ev.gates.get(kind, "none")
    if run is not None and run.passed is not None:
        if not run.passed:
            if gate == 0:
                return "verified", f"a gate run on HEAD passed ({run.result()} in the session)"
            return "contradicted", run.result()
        if ev.last_edit_at and run.at and ev.last_edit_at > run.at:
            if gate == 0:
                return "verified", "a gate run on HEAD passed"
            return "stale", f"{run.result()}, then files were edited"
        return "verified", f"{run.result()} after the last edit"
    if gate == 0:
        return "verified", "a gate run on HEAD passed"
    if gate not in ("none", None):
        return "contradicted", f"a gate run on HEAD exited {gate}"
    if run is not None:
        return "unverified", run.result()
    return "unverified", f"no {kind} command ran in the session and no gate ran on HEAD"


def _matches(claimed: str, changed: tuple[str, ...]) -> bool:
    c = claimed.strip("./")
    return any(p == c or p.endswith("/" + c) or c.endswith("/" + p) for p in changed)


def _clean(c, ev, others) -> Verdict:
    if ev.dirty:
        return "contradicted", f"git status shows {ev.dirty} uncommitted change(s)"
    return "verified", "git status is clean"


def _committed(c, ev, others) -> Verdict:
    if not ev.has_commits:
        return "contradicted", "no commits after base"
    return ("verified", "commits after base") if not ev.dirty else (
        "unverified", f"commits after base, but {ev.dirty} uncommitted change(s) remain")


def _pushed(c, ev, others) -> Verdict:
    if ev.pushed is None:
        return "contradicted", "the branch has no remote-tracking ref"
    return ("verified", "the remote-tracking ref is at HEAD") if ev.pushed else (
        "contradicted", "the remote-tracking ref is behind HEAD")


def _merged(c, ev, others) -> Verdict:
    return ("verified", "the commits reached the default branch") if ev.merged else (
        "contradicted", "the commits are not on the default branch (local or remote-tracking)")


def _created(c, ev, others) -> Verdict:
    paths = c.get("paths") or []
    nowhere = [p for p in paths if not _matches(p, ev.changed) and not ev.exists.get(p)]
    if not nowhere:
        return "verified", "every named file exists"
    return "contradicted", f"no such file in the worktree or its changes: {', '.join(nowhere[:3])}"


def _files(c, ev, others) -> Verdict:
    paths = c.get("paths") or []
    missing = [p for p in paths if not _matches(p, ev.changed)]
    if not missing:
        return "verified", "every named file changed since base"
    return "unverified", f"not changed since base: {', '.join(missing[:3])}"


def _nothing_else(c, ev, others) -> Verdict:
    if ev.outside_allow:
        return "contradicted", f"also changed: {', '.join(ev.outside_allow[:3])}"
    return ("verified", "every change is inside --allow") if ev.allow else ("unverified", "no --allow to check against")


def _done(c, ev, others) -> Verdict:
    if not ev.has_commits and not ev.dirty:
        return "contradicted", "nothing changed since base"
    if ev.failed_gate:
        gate, code = ev.failed_gate
        return "contradicted", f"the gate `{gate}` {'timed out' if code is None else f'exited {code}'} on HEAD"
    bad = [k for k, v in others.items() if v == "contradicted"]
    if bad:
        return "contradicted", f"its {bad[0]} claim is contradicted"
    if ev.dirty:
        return "unverified", f"{ev.dirty} uncommitted change(s)"
    if ev.last_edit_at and ev.claim_at and ev.last_edit_at > ev.claim_at:
        return "stale", "files were edited after the claim"
    return "verified", "commits after base, worktree clean"


def _deviation(c, ev, others) -> Verdict:
    shared = [w for w in c.get("words") or [] if w in set(ev.asked)]
    if shared:
        return "noted", f"the worker reports doing otherwise than asked ({', '.join(shared[:3])})"
    return "", ""  # "instead" about something it was not asked: no claim at all


@dataclass(frozen=True)
class Rule:
    """How a kind of claim is judged, which verdicts become a finding (category, severity), and what to do next."""

    judge: Callable[[dict, ClaimEvidence, dict], Verdict]
    raises: dict[str, str]  # verdict -> severity of the finding
    next: str
    category: str = "self-report-mismatch"


_TESTS_NEXT = "run the checks on HEAD (`orch review TASK --run-gates`) and send the worker the failing output"
RULES: dict[str, Rule] = {
    "tests": Rule(_check, {"contradicted": "high", "unverified": "medium", "stale": "medium"}, _TESTS_NEXT),
    "build": Rule(_check, {"contradicted": "high"}, _TESTS_NEXT),
    "lint": Rule(_check, {"contradicted": "high"}, _TESTS_NEXT),
    "clean": Rule(_clean, {"contradicted": "high"}, "look at `git -C WORKTREE status`; ask the worker to commit or drop"),
    "committed": Rule(_committed, {"contradicted": "high"}, "look at `git log BASE..BRANCH`; ask the worker to commit"),
    "pushed": Rule(_pushed, {"contradicted": "high"}, "compare the branch with its remote; ask the worker what it pushed"),
    "merged": Rule(_merged, {"contradicted": "high"}, "check the default branch (`git log main`) before trusting it"),
    "created": Rule(_created, {"contradicted": "high"}, "ask the worker where the file is; it is in no change"),
    "files": Rule(_files, {}, "compare the claim with `git diff --stat BASE`"),
    "nothing-else": Rule(_nothing_else, {"contradicted": "medium"}, "read the changes outside --allow; revert or allow"),
    "done": Rule(_done, {"contradicted": "high"}, "do not accept yet: check the contradicted evidence, then ask the worker"),
    "deviation": Rule(_deviation, {"noted": "medium"}, "read the worker's reason; accept it or repeat the instruction",
                      category="pushback"),
}
_LAST = ("done",)  # judged after the others, knowing their verdicts


def judge(claims: list[dict], ev: ClaimEvidence) -> list[dict]:
    """Every claim with its verdict and why; `done` is judged last, knowing the others."""
    out: dict[str, dict] = {}
    for c in sorted(claims, key=lambda c: c["kind"] in _LAST):
        rule = RULES.get(c["kind"])
        if rule is None:
            continue
        if ev.has_commits is None and rule.judge not in (_check, _deviation):
            v, why = "unverified", "git state unknown"
        else:
            v, why = rule.judge(c, ev, {k: o["verdict"] for k, o in out.items()})
        if v:
            out[c["kind"]] = {**c, "verdict": v, "why": why}
    return [out[c["kind"]] for c in claims if c["kind"] in out]


def findings(judged: list[dict]) -> list[dict]:
    """The judged claims that become findings: [{claim, category, severity, next}]."""
    out = []
    for c in judged:
        rule = RULES.get(c["kind"])
        sev = rule.raises.get(c["verdict"]) if rule else None
        if sev:
            out.append({"claim": c, "category": rule.category, "severity": sev, "next": rule.next})
    return out


def mismatches(judged: list[dict]) -> list[dict]:
    """The claims that become self-report-mismatch findings (kept for callers that want the claims only)."""
    return [f["claim"] for f in findings(judged) if f["category"] == "self-report-mismatch"]
