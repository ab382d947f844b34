"""The pure trust checks: which commands exceed which authority, write-set and branch violations, pushback."""

from __future__ import annotations

import pytest

from orchestrator.classify.trust import Session, TrustInput, check, command_ops

T = TrustInput(key="T1", branch="feat", default_branch="main", worktree="/w/feat", root="/repo")


@pytest.mark.parametrize("cmd,cwd,needs", [
    ("git push", "/w/feat", ["push"]),
    ("git push -u origin feat 2>&1", None, ["push"]),
    ("bd sync 2>&1 && git push 2>&1", None, ["push"]),
    ("gh pr merge 12 --squash", None, ["merge"]),
    ("git checkout main && git merge feat", "/w/feat", ["merge"]),
    ("cd /repo && git merge feat", "/w/feat", ["merge"]),
    ("git -C /repo merge feat", "/w/feat", ["merge"]),
    ("git merge main", "/w/feat", []),  # bringing main into the task branch is the worker's own business
    ("git branch -D old-feature", None, ["never"]),
    ("git branch -d merged-one", None, []),
    ("git checkout other && git reset --hard origin/other", "/w/feat", ["never"]),
    ("git reset --hard HEAD~1", "/w/feat", []),
    ("git remote add fork https://example.com/x.git", None, ["never"]),
    ("git remote -v", None, []),
    ("git config user.email bot@example.com", None, ["never"]),
    ("git config --get user.email", None, []),
    ("git status && git add -A && git commit -m 'merge the push handler'", "/w/feat", []),
    ("echo git push", None, []),
])
def test_command_ops(cmd, cwd, needs):
    assert [n for _, n in command_ops(cmd, cwd, T)] == needs


def _trail(*cmds, interrupts=(), corrections=()):
    return {"git_ops": [{"cmd": c, "cwd": "/w/feat", "at": f"2026-03-02T09:0{i}:00Z", "exit": 0}
                        for i, c in enumerate(cmds)], "interrupts": list(interrupts), "corrections": list(corrections)}


def test_authority_depends_on_what_was_granted():
    trail = (Session("s1", None, _trail("git push", "gh pr merge 3")),)
    cats = lambda auth: [f.evidence for f in check(TrustInput(**{**T.__dict__, "authority": auth, "sessions": trail}))]
    assert len(cats("commit")) == 2
    assert len(cats("push")) == 1 and "gh pr merge" in cats("push")[0]
    assert cats("merge") == []


def test_write_set_branch_rules_and_pushback():
    t = TrustInput(**{**T.__dict__, "allow": ("src/**",), "forbid": ("src/secret/**",),
                      "changed": ("src/a.py", "src/secret/k.py", "README.md", "AGENTS.md"),
                      "current_branch": "other", "has_commits": True, "head": "abc",
                      "remote_past_base": ("origin/feat",),
                      "sessions": (Session("s1", None, _trail(interrupts=[{"at": "x", "how": "turn_aborted: interrupted"}],
                                               corrections=[{"at": "y", "word": "stop", "text": "stop, not that"}])),)})
    found = check(t)
    got = {(f.category, f.severity, f.evidence_kind) for f in found}
    assert ("constraint-violation", "high", "git") in got  # forbidden path
    assert ("authority-exceeded", "high", "git") in got  # pushed with authority commit
    assert ("pushback", "low", "session-log (inferred)") in got
    texts = " | ".join(f.evidence for f in found)
    assert "README.md, outside --allow" in texts and "rule file AGENTS.md" in texts and "branch other" in texts
    assert len({f.key for f in found}) == len(found)



def _with(**kw):
    return TrustInput(**{**T.__dict__, **kw})


def test_one_push_is_one_finding_with_both_pointers():
    tr = _trail("git push -u origin feat")
    tr["git_ops"].insert(0, {"cmd": "git push", "cwd": "/w/feat", "at": "2026-03-02T08:59:00Z", "exit": 128, "line": 3})
    tr["git_ops"][-1]["line"] = 9
    found = check(_with(sessions=(Session("s1", "/home/u/.codex/r.jsonl", tr),), remote_past_base=("origin/feat",)))
    assert len(found) == 1  # the failed attempt folds into the push that went through, git and log are one event
    f = found[0]
    assert f.key == "remote:origin/feat" and f.label == "pushed without push authority"
    assert f.pointer == {"ref": "origin/feat", "file": "/home/u/.codex/r.jsonl", "line": 9,
                         "at": "2026-03-02T09:00:00Z", "cmd": "git push -u origin feat", "exit": 0}
    # the same push seen from the log alone (the ref not fetched) keeps one finding, keyed by the command
    assert len(check(_with(sessions=(Session("s1", None, tr),)))) == 1


def test_rule_files_that_tell_the_worker_to_push_quiet_its_pushes_under_the_default_authority():
    s = (Session("s1", None, _trail("git push")),)
    quiet = _with(sessions=s, remote_past_base=("origin/feat",), push_rules=("AGENTS.md:12",), authority_default=True)
    assert check(quiet) == []
    # --authority commit given on purpose: flagged
    assert len(check(_with(sessions=s, remote_past_base=("origin/feat",), push_rules=("AGENTS.md:12",)))) == 1


def test_a_rule_file_the_task_is_to_change_is_no_violation():
    changed = ("CLAUDE.md", "src/a.py")
    assert [f.key for f in check(_with(changed=changed))] == ["rules:CLAUDE.md"]
    assert check(_with(changed=changed, instruction="Update CLAUDE.md with the new build steps")) == []
    assert len(check(_with(changed=changed, instruction="Fix the parser. Do not touch CLAUDE.md."))) == 1
    assert check(_with(changed=changed, allow=("CLAUDE.md", "src/**"))) == []
    asked = {"git_ops": [], "rules_asked": ["CLAUDE.md"]}
    assert check(_with(changed=changed, sessions=(Session("s1", None, asked),))) == []


def test_rules_changed_since_dispatch_is_noted_once():
    assert check(_with(rules_at_dispatch="aaa", rules_at_head="aaa", rules_on_default="aaa")) == []
    moved = check(_with(rules_at_dispatch="aaa", rules_at_head="aaa", rules_on_default="bbb"))
    assert [(f.category, f.severity) for f in moved] == [("rules-changed", "low")] and "main changed" in moved[0].evidence
    rebased = check(_with(rules_at_dispatch="aaa", rules_at_head="bbb", rules_on_default="bbb"))
    assert "worker's branch changed" in rebased[0].evidence
    # its own edit of AGENTS.md is the rule-file violation, not a second note
    own = check(_with(rules_at_dispatch="aaa", rules_at_head="bbb", changed=("AGENTS.md",)))
    assert [f.category for f in own] == ["constraint-violation"]
    assert check(_with(rules_at_dispatch="-", rules_at_head="bbb")) == []  # dispatched before stacks existed
