"""The tick's trust stage, where the stages meet: probes gather (git facts, session trails), classify judges
(claims, trust findings), the ledger keeps (ledger/trustcheck.py). Only tasks whose facts changed are checked."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from orchestrator.classify import claims as claims_mod
from orchestrator.classify import trust
from orchestrator.classify.briefcheck import CATEGORY as BRIEF_CATEGORY, check as brief_check
from orchestrator.classify.checks import check_kind
from orchestrator.classify.globs import matches
from orchestrator.classify.merged import merge_verdict
from orchestrator.probes.merged import task_merge_facts
from orchestrator.ledger import brief, misalign, stack, trustcheck
from orchestrator.ledger.models import DECIDED_STATUSES
from orchestrator.probes import trustgit
from orchestrator.probes.sessions.trail import claims_of
from orchestrator.rulefiles import is_rule_path
from orchestrator.timeutil import parse_iso_lenient


def mode() -> str:
    """ORCH_TRUST_CHECKS: 0 turns the step off, `always` ignores its caches (the tick benchmark uses both)."""
    return os.environ.get("ORCH_TRUST_CHECKS", "1")


def _fp(*parts) -> str:
    return hashlib.sha1(repr(parts).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _gates(runs: list[tuple[str, int | None]]) -> tuple[dict[str, int | None], tuple[str, int | None] | None]:
    """The gates run on HEAD: exit code by check kind (a failing gate outweighs a passing one), the first failure."""
    kinds: dict[str, int | None] = {}
    failed = None
    for gate, code in runs:
        kind = check_kind(gate) or "tests"
        if kinds.get(kind, 0) == 0:
            kinds[kind] = code
        if code != 0 and failed is None:
            failed = (gate, code)
    return kinds, failed


def _remote(remotes: dict[str, str], branch: str) -> dict[str, str]:
    return {name: oid for name, oid in remotes.items() if name.split("/", 1)[-1] == branch}


def run(ledger, s, proj, tasks: list, probe, agent_states: dict, now: datetime) -> dict:
    """Check every live task whose facts changed since the last tick; returns counts for the tick's health."""
    live = [t for t in tasks if t.status not in trustcheck.SKIP_STATUSES]
    if not live or mode() == "0":
        return {}
    fresh = mode() == "always"
    cfg = ledger.settings
    root = ledger.paths.root
    timeout = cfg.git_timeout.total_seconds()
    remotes = trustgit.remote_refs(root, timeout)
    heads = {t.id: (probe.facts.get(t.key).head if probe.facts.get(t.key) else None) for t in live}
    gates = {tid: _gates(runs) for tid, runs in trustcheck.gate_runs(s, heads).items()}
    todo = []
    for t in live:
        facts = probe.facts.get(t.key)
        if facts is None or not facts.found or facts.error or not facts.head or not t.base_commit:
            continue
        st = stack.of(t)
        mine = _remote(remotes, t.branch)
        agent = agent_states.get(t.id)
        cache = {} if fresh else dict((t.extra or {}).get("trust") or {})
        fp = _fp(facts.head, facts.dirty_digest, facts.branch, facts.merged, agent.fingerprint if agent else "",
                 agent.state if agent else "", sorted(mine.items()), sorted(_remote(remotes, proj.default_branch).items()),
                 gates.get(t.id), st, t.allow, t.forbid, t.base_commit, probe.default_head)
        if cache.get("fp") != fp:
            todo.append((t, facts, st, mine, agent, cache, fp))
    trails = trustcheck.sessions(s, [t.id for t, *_ in todo])
    git = _git_facts(root, todo, trails, remotes, proj.default_branch, probe.default_head, timeout, cfg.workers)
    recorded = 0
    for t, facts, st, mine, agent, cache, fp in todo:
        recorded += _check(s, proj, t, facts, probe, st, mine, gates.get(t.id) or ({}, None), agent, fp, now,
                           git[t.id], [trust.Session(sid, path, tr) for sid, path, tr in trails.get(t.id, [])],
                           str(root), proj.default_branch)
    return {"checked": len(todo), "recorded": recorded}


def _git_facts(root, todo, trails, remotes, default_branch, default_head, timeout: float, workers: int) -> dict:
    """Per task: paths committed since base, remote refs moved past base, the rule-file hash at HEAD and on the
    default branch, whether a claimed merge reached it. The paths of every task come from one batched
    `git diff-tree --stdin`, each rule-file hash is asked once per commit; the other calls run in parallel."""
    jobs: dict = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        rules: dict = {}  # commit -> future of its rule-file hash, shared by every task at that commit

        def rules_at(commit):
            if commit not in rules:
                rules[commit] = pool.submit(trustgit.rules_hash_at, root, commit, timeout)
            return rules[commit]

        pairs = [(t.base_commit, facts.head) for t, facts, *_, cache, _ in todo
                 if facts.head != t.base_commit and cache.get("diff") != [t.base_commit, facts.head]]
        # one call, waited for: which rule-file hashes need asking depends on the paths
        paths = trustgit.committed_paths_many(root, pairs, timeout) if pairs else {}
        for t, facts, st, mine, _, cache, _ in todo:
            base, head = t.base_commit, facts.head
            job = {}
            if cache.get("diff") == [base, head]:
                job["committed"] = cache.get("committed") or []
            else:
                job["committed"] = [] if head == base else paths.get((base, head))
            old = cache.get("past") or {}
            job["past"] = {ref: tuple(old[ref]) if ref in old and old[ref][0] == oid else
                           (oid, pool.submit(trustgit.is_ancestor, root, base, oid, timeout) if oid != base else False)
                           for ref, oid in mine.items()}
            recorded = "stack" in (t.extra or {})
            if recorded and head != base and not _rules_kept(job["committed"], cache.get("diff") == [base, head]):
                job["rules_head"] = (cache["rules_head"][1] if (cache.get("rules_head") or [None])[0] == head
                                     else rules_at(head))
            if recorded and default_head and default_head != base:
                job["rules_default"] = (cache["rules_default"][1]
                                        if (cache.get("rules_default") or [None])[0] == default_head
                                        else rules_at(default_head))
            said = next((claims_of(tr) for _, _, tr in trails.get(t.id, []) if claims_of(tr)), None) or {}
            if any(c["kind"] == "merged" for c in said.get("claims") or []) and not facts.merged:
                job["merged"] = pool.submit(_merged, root, t.branch, head, base, default_branch, timeout)
            jobs[t.id] = job
        out = {}
        for tid, job in jobs.items():
            got = {k: _value(v) for k, v in job.items() if k != "past"}
            got["committed"] = got.get("committed") or []
            got["past"] = {ref: [oid, moved.result() if isinstance(moved, Future) else moved]
                           for ref, (oid, moved) in job["past"].items()}
            out[tid] = got
    return out


def _rules_kept(committed: list[str] | None, cached: bool) -> bool:
    """Whether the rule files at HEAD are those at base (hashed at dispatch): the commits since base touched no
    rule file, and the list of their paths is whole (not cut at MAX_PATHS, not from the cache's shorter copy)."""
    return (committed is not None and not cached and len(committed) < trustgit.MAX_PATHS
            and not any(is_rule_path(p) for p in committed))


def _value(v):
    """A job's answer: a future's result or the value itself."""
    return v.result() if isinstance(v, Future) else v


def _check(s, proj, t, facts, probe, st, mine, gate_info, agent, fp, now, git, sessions, root, default_branch) -> int:
    committed = git["committed"]
    changed = tuple(sorted(set(committed) | set(probe.changed.get(t.key, ()))))
    stored = (t.extra or {}).get("stack")
    rules_then = (st["rules"] or {}).get("hash") if stored else "-"
    rules_head = git.get("rules_head", rules_then)
    rules_default = git.get("rules_default", rules_then)
    inp = trust.TrustInput(
        key=t.key, branch=t.branch, default_branch=default_branch, authority=st["authority"],
        authority_default=st["authority_default"], push_rules=tuple((st["rules"] or {}).get("push") or ()),
        allow=tuple(t.allow or ()), forbid=tuple(t.forbid or ()), instruction=st["instruction"], worktree=facts.path,
        root=root, current_branch=facts.branch, has_commits=facts.has_commits, head=facts.head, changed=changed,
        remote_past_base=tuple(ref for ref, (_, moved) in sorted(git["past"].items()) if moved), sessions=tuple(sessions),
        rules_at_dispatch=rules_then, rules_at_head="-" if rules_head is False else rules_head,
        rules_on_default="-" if rules_default is False else rules_default)
    findings = list(trust.check(inp))
    judged, said, sess, checks = _claims(t, facts, inp, mine, gate_info, git.get("merged", facts.merged))
    settled = []
    if said and (agent is None or agent.state != "running"):
        found = claims_mod.findings(judged)
        findings += trust.claim_findings(judged, found, sess, said, checks)
        raised = {f["claim"]["kind"] for f in found}
        for c in judged:
            if c["kind"] not in raised and c["verdict"] == "verified":
                settled.append((trust.claim_key(sess.sid, said, c["kind"]), f"verified later: {c['why']}"))
    settled += [(key, f"the same push, seen in git since: {f.evidence}") for f in findings for key in f.folds]
    cache = {"fp": fp, "diff": [t.base_commit, facts.head], "committed": list(committed)[:500], "past": git["past"]}
    if "rules_head" in git and git["rules_head"] is not False:
        cache["rules_head"] = [facts.head, git["rules_head"]]
    if "rules_default" in git and git["rules_default"] is not False:
        cache["rules_default"] = [probe.default_head, git["rules_default"]]
    return trustcheck.keep(s, proj, t, [f.as_dict() for f in findings], settled, judged, cache, now)


def _claims(t, facts, inp: trust.TrustInput, mine: dict, gate_info, merged: bool):
    """The claims of the worker's last word (newest session first) judged against the evidence."""
    for sess in inp.sessions:
        tr = sess.trail
        said = claims_of(tr)
        if not said or not said.get("claims"):
            continue
        checks = {k: run for k, run in (tr.get("checks") or {}).items() if isinstance(run, dict)}
        runs = {k: claims_mod.CheckRun(cmd=run.get("cmd") or "?", at=parse_iso_lenient(run.get("end") or run.get("at")),
                                       exit=run.get("exit"), said=run.get("said"), line=run.get("line"))
                for k, run in checks.items()}
        kinds, failed = gate_info
        created = [p for c in said["claims"] if c["kind"] == "created" for p in c.get("paths") or []]
        ev = claims_mod.ClaimEvidence(
            checks=runs, last_edit_at=parse_iso_lenient(tr.get("last_edit_at")),
            claim_at=parse_iso_lenient(said.get("at")), has_commits=facts.has_commits, dirty=facts.dirty,
            changed=inp.changed, pushed=(facts.head in mine.values()) if mine else None, merged=merged, gates=kinds,
            failed_gate=failed, allow=inp.allow,
            outside_allow=tuple(p for p in inp.changed if inp.allow and not matches(p, list(inp.allow))),
            exists=trustgit.existing(facts.path, created) if created else {},
            asked=tuple(claims_mod.words(inp.instruction, 40)) + tuple(tr.get("asked") or ()))
        return claims_mod.judge(said["claims"], ev), said, sess, checks
    return [], None, None, {}


def _merged(root: str, branch: str, head: str, base: str | None, default_branch: str, timeout: float) -> bool:
    """The one answer to "is it merged" (classify/merged.py), as `task set` and the tick give it."""
    return merge_verdict(task_merge_facts(root, branch, head, base, default_branch, timeout), branch).merged


def stale_briefs(s, proj, tasks: list, now) -> int:
    """Workers briefed on an older version of their record (a separate check); returns the findings recorded."""
    recorded = 0
    for t in tasks:
        if not t.brief or t.status in DECIDED_STATUSES + ("cleaned",):
            continue
        found = brief_check(t.brief, brief.digest(brief.record(t, proj.default_branch)))
        if found is not None and misalign.record(s, proj, t, category=BRIEF_CATEGORY, severity=found.severity,
                                                 evidence_kind="ledger", evidence=found.text, key=found.key,
                                                 now=now) is not None:
            recorded += 1
    return recorded
