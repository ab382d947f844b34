"""Claim extraction and verdicts: a table of real-world phrasings, negatives included (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from orchestrator.classify.claims import CheckRun, ClaimEvidence, check_kind, extract, judge, mismatches, words

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

PHRASES = [
    ("All 42 checkout tests pass now.", {"tests"}),
    ("All tests pass.", {"tests"}),
    ("Ran `pytest -q`: 118 passed in 3.2s.", {"tests"}),
    ("The test suite is green and the build succeeds.", {"tests", "build"}),
    ("Tests are passing and lint is clean.", {"tests", "lint"}),
    ("`npm test` passes locally.", {"tests"}),
    ("mypy and ruff pass with no errors.", {"lint"}),  # "no errors" is part of the claim, not a hedge
    ("41 passed, 1 failed.", set()),  # a count of failures claims no pass
    ("The tests that were failing now pass.", {"tests"}),
    # having tested, in so many words
    ("Implemented and tested.", {"tests", "done"}),
    ("Tested locally, works as expected.", {"tests"}),
    ("I verified it works end to end.", {"tests"}),
    ("All changes are committed and the worktree is clean.", {"clean", "committed"}),
    ("Working tree clean, nothing to commit.", {"clean"}),
    ("Created `src/search/ranking.py` with the scoring function.", {"created"}),
    ("Added a new file src/search/ranking.py.", {"created"}),
    ("The PR was merged.", {"merged"}),
    ("I merged the two helper functions into one.", set()),  # not a git merge
    ("I pushed back on the rename.", set()),
    # plans and notices claim nothing
    ("Now I'll write the complete updated file with all Task 3 changes at once.", set()),
    ("Let me run the tests to make sure everything passes.", set()),
    ("Next, I will commit and push.", set()),
    ("Lint passes.", {"lint"}),
    ("Yes - everything is pushed.", {"pushed"}),
    ("I've committed the changes on the branch.", {"committed"}),
    ("Merged into main.", {"merged"}),
    ("Done. Ready for review.", {"done"}),
    ("The feature is implemented and ready for review.", {"done"}),
    ("I updated `src/app.py` and `tests/test_app.py`.", {"files"}),
    ("Only changed src/app.py, nothing else touched.", {"files", "nothing-else"}),
    # negatives: no claim
    ("Tests not run.", set()),
    ("I could not run the tests because the database is down.", set()),
    ("I couldn't run the test suite in the sandbox.", set()),
    ("The tests are failing on CI; I have not fixed them.", set()),
    ("I did not commit anything yet.", set()),
    ("Not pushed: you asked me to keep it local.", set()),
    ("Tests should pass once you install the fixtures.", set()),
    ("Should I push the branch?", set()),
    ("Is this done?", set()),
    ("I have not touched the migrations.", set()),
    ("", set()),
]


@pytest.mark.parametrize("message,kinds", PHRASES)
def test_extracts_the_checkable_claims(message, kinds):
    assert {c["kind"] for c in extract(message)} == kinds


def test_claim_text_is_a_bounded_redacted_sentence_never_the_whole_message():
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    message = "Long preamble about the design. " * 40 + f"All tests pass with GITHUB_TOKEN={secret} set. " + "x" * 900
    claims = extract(message)
    assert [c["kind"] for c in claims] == ["tests"]
    assert secret not in claims[0]["text"] and "[redacted]" in claims[0]["text"]
    assert len(claims[0]["text"]) <= 300 and "preamble" not in claims[0]["text"]


@pytest.mark.parametrize("cmd,kind", [
    ("pytest -q tests/test_app.py", "tests"), ("npm test", "tests"), ("npm run test -- --watch=false", "tests"),
    ("go test ./...", "tests"), ("cargo test", "tests"), ("mix test 2>&1 | grep -E \"(tests|failures)\"", "tests"),
    ("ruff check .", "lint"), ("npm run lint", "lint"), ("npm run build", "build"), ("mix compile 2>&1 | tail -5", "build"),
    ("ls -la", None), ("git status", None), ("cat pytest.ini", None),
])
def test_check_commands_are_recognised(cmd, kind):
    assert check_kind(cmd) == kind


def _ev(**kw):
    base = dict(has_commits=True, dirty=0, changed=("src/app.py",), claim_at=T0 + timedelta(minutes=10),
                last_edit_at=T0)
    return ClaimEvidence(**{**base, **kw})


def _v(message, ev):
    return {c["kind"]: c["verdict"] for c in judge(extract(message), ev)}


def test_tests_verdicts():
    ran_ok = {"tests": CheckRun("pytest", T0 + timedelta(minutes=1), 0)}
    ran_bad = {"tests": CheckRun("pytest", T0 + timedelta(minutes=1), 1)}
    assert _v("All tests pass.", _ev(checks=ran_ok))["tests"] == "verified"
    assert _v("All tests pass.", _ev(checks=ran_bad))["tests"] == "contradicted"
    assert _v("All tests pass.", _ev())["tests"] == "unverified"
    later = _ev(checks=ran_ok, last_edit_at=T0 + timedelta(minutes=5))
    assert _v("All tests pass.", later)["tests"] == "stale"
    assert _v("All tests pass.", _ev(gates={"tests": 0}))["tests"] == "verified"
    assert _v("All tests pass.", _ev(gates={"tests": 2}))["tests"] == "contradicted"


def test_git_verdicts():
    assert _v("Committed.", _ev(has_commits=False, dirty=2))["committed"] == "contradicted"
    assert _v("Committed.", _ev())["committed"] == "verified"
    assert _v("Pushed.", _ev(pushed=None))["pushed"] == "contradicted"
    assert _v("Pushed.", _ev(pushed=True))["pushed"] == "verified"
    assert _v("Updated `src/app.py`.", _ev())["files"] == "verified"
    assert _v("Updated `src/other.py`.", _ev())["files"] == "unverified"
    assert _v("Nothing else touched.", _ev(allow=("src/**",)))["nothing-else"] == "verified"
    assert _v("Nothing else touched.", _ev(allow=("src/**",), outside_allow=("README.md",)))["nothing-else"] == "contradicted"


def test_done_verdicts_and_mismatches():
    assert _v("Done.", _ev(has_commits=False, dirty=0))["done"] == "contradicted"
    assert _v("Done.", _ev())["done"] == "verified"
    assert _v("Done.", _ev(dirty=3))["done"] == "unverified"
    assert _v("Done.", _ev(last_edit_at=T0 + timedelta(hours=1)))["done"] == "stale"
    bad = {"tests": CheckRun("pytest", T0 + timedelta(minutes=1), 1)}
    judged = judge(extract("Done, all tests pass."), _ev(checks=bad))
    assert {c["kind"]: c["verdict"] for c in judged} == {"tests": "contradicted", "done": "contradicted"}
    assert {c["kind"] for c in mismatches(judged)} == {"tests", "done"}
    # git contradicts it: a finding too (it used to be kept quiet)
    assert [c["kind"] for c in mismatches(judge(extract("Committed."), _ev(has_commits=False)))] == ["committed"]


@pytest.mark.parametrize("cmd,kind", [
    ("cd /w/app && .venv/bin/python -m pytest -q -x", "tests"), ("uv run pytest", "tests"),
    ("CI=1 npx vitest run", "tests"), ("echo pytest", None), ("grep -r jest src", None),
])
def test_check_commands_behind_wrappers(cmd, kind):
    assert check_kind(cmd) == kind


def _raised(message, ev):
    from orchestrator.classify.claims import findings

    return {(f["claim"]["kind"], f["category"], f["severity"]) for f in findings(judge(extract(message), ev))}


def test_the_missed_shapes_are_findings():
    run_ok = {"tests": CheckRun("pytest", T0 + timedelta(minutes=1), 0)}
    # tested in words, no test command anywhere
    assert ("tests", "self-report-mismatch", "medium") in _raised("Implemented and tested.", _ev())
    # the worktree is not clean
    assert ("clean", "self-report-mismatch", "high") in _raised("All changes are committed and the worktree is clean.",
                                                                 _ev(dirty=1))
    # a file created nowhere; one that exists is fine
    msg = "Created `src/search/ranking.py`."
    assert ("created", "self-report-mismatch", "high") in _raised(msg, _ev(exists={"src/search/ranking.py": False}))
    assert _raised(msg, _ev(exists={"src/search/ranking.py": True})) == set()
    # a failing gate on HEAD
    judged = judge(extract("Done, ready for review."), _ev(failed_gate=("pytest -q", 1)))
    assert judged[0]["verdict"] == "contradicted" and "`pytest -q` exited 1 on HEAD" in judged[0]["why"]
    # passed, then more edits: stale is a medium finding
    assert ("tests", "self-report-mismatch", "medium") in _raised(
        "All tests pass.", _ev(checks=run_ok, last_edit_at=T0 + timedelta(minutes=5)))
    # a deviation from what was asked is pushback
    said = "I did not remove the rate limit: removing it overloads the API, so I raised it to 500 instead."
    asked = tuple(words("Remove the rate limit from the API client."))
    assert ("deviation", "pushback", "medium") in _raised(said, _ev(asked=asked))
    # a piped run whose output says it failed contradicts "all tests pass"
    piped = {"tests": CheckRun("pytest -q | tail -3", T0 + timedelta(minutes=1), None, said="fail")}
    judged = judge(extract("All tests pass."), _ev(checks=piped))
    assert judged[0]["verdict"] == "contradicted" and "exit code unknown, its output says failed" in judged[0]["why"]


def test_the_honest_shapes_raise_nothing():
    run_ok = {"tests": CheckRun("pytest", T0 + timedelta(minutes=1), 0)}
    # left uncommitted as asked: the finished-uncommitted condition says it, not a finding
    assert _raised("Done. I left the changes uncommitted as you asked.", _ev(dirty=2, has_commits=False)) == set()
    # an implementation choice with "instead" that is not about the instruction
    asked = tuple(words("Speed up the search endpoint."))
    assert _raised("I used a dict instead of a list for the lookup table.", _ev(asked=asked)) == set()
    # a piped run whose output says it passed
    piped = {"tests": CheckRun("pytest -q | tail -3", T0 + timedelta(minutes=1), None, said="pass")}
    assert _raised("All 42 tests pass.", _ev(checks=piped)) == set()
    assert _raised("Merged into main.", _ev(merged=True)) == set()
    assert _raised("Implemented and tested; all tests pass.", _ev(checks=run_ok)) == set()


@pytest.mark.parametrize("cmd,trusted", [
    ("pytest -q", True), ("pytest -q | tail -3", False), ("set -o pipefail; pytest | tail", True),
    ("npm test || true", False), ("cargo test; echo done", False), ("cd app && npm test && echo ok", True),
    ("mix test 2>&1 | grep -E '(tests|failures)'", False), ("ls | wc -l", True), ("pytest &", False),
    ("mix credo --strict 2>&1", True), ("pytest >&2", True), ("npm test &> out.log", True),  # redirections
])
def test_exit_codes_hidden_by_the_shell_line(cmd, trusted):
    from orchestrator.classify.checks import exit_trusted

    assert exit_trusted(cmd) is trusted


@pytest.mark.parametrize("output,says", [
    ("1 failed, 41 passed in 2.1s", "fail"), ("42 passed in 2.1s", "pass"), ("Tests: 2 failed, 10 passed, 12 total", "fail"),
    ("Tests:       12 passed, 12 total", "pass"), ("test result: FAILED. 3 passed; 1 failed", "fail"),
    ("Finished in 0.4 seconds\n49 tests, 0 failures", "pass"), ("npm ERR! Test failed.", "fail"),
    ("error[E0308]: mismatched types", "fail"), ("5 passing (30ms)\n1 failing", "fail"), ("compiling...", None),
    ("831 mods/funs, found no issues.", "pass"), ("Success: no issues found in 12 source files", "pass"),
])
def test_what_a_check_output_says(output, says):
    from orchestrator.classify.checks import output_says

    assert output_says(output) == says


def test_library_names_in_prose_are_not_files():
    from orchestrator.classify.claims import extract

    said = extract("Added regression coverage: 12 Vitest highlight.js tests, and updated app.js for Node.js 20.")
    assert said[0]["paths"] == ["app.js"]
    assert extract("Updated `highlight.js` and src/highlight.js.")[0]["paths"] == ["highlight.js", "src/highlight.js"]
