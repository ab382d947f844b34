"""The pure trust checks: which commands exceed which authority, write-set and branch violations, pushback."""

from __future__ import annotations

import pytest

from orchestrator.classify.trust import TrustInput, check, command_ops

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
    trail = (("s1", _trail("git push", "gh pr merge 3")),)
    cats = lambda auth: [f.evidence for f in check(TrustInput(**{**T.__dict__, "authority": auth, "trails": trail}))]
    assert len(cats("commit")) == 2
    assert len(cats("push")) == 1 and "gh pr merge" in cats("push")[0]
    assert cats("merge") == []


def test_write_set_branch_rules_and_pushback():
    t = TrustInput(**{**T.__dict__, "allow": ("src/**",), "forbid": ("src/secret/**",),
                      "changed": ("src/a.py", "src/secret/k.py", "README.md", "AGENTS.md"),
                      "current_branch": "other", "has_commits": True, "head": "abc",
                      "remote_past_base": ("origin/feat",),
                      "trails": (("s1", _trail(interrupts=[{"at": "x", "how": "turn_aborted: interrupted"}],
                                               corrections=[{"at": "y", "word": "stop", "text": "stop, not that"}])),)})
    found = check(t)
    got = {(f.category, f.severity, f.evidence_kind) for f in found}
    assert ("constraint-violation", "high", "git") in got  # forbidden path
    assert ("authority-exceeded", "high", "git") in got  # pushed with authority commit
    assert ("pushback", "low", "session-log (inferred)") in got
    texts = " | ".join(f.evidence for f in found)
    assert "README.md, outside --allow" in texts and "rule file AGENTS.md" in texts and "branch other" in texts
    assert len({f.key for f in found}) == len(found)
