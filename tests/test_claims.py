"""Claim extraction and verdicts: a table of real-world phrasings, negatives included (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from orchestrator.classify.claims import CheckRun, ClaimEvidence, check_kind, extract, judge, mismatches

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

PHRASES = [
    ("All 42 checkout tests pass now.", {"tests"}),
    ("All tests pass.", {"tests"}),
    ("Ran `pytest -q`: 118 passed in 3.2s.", {"tests"}),
    ("The test suite is green and the build succeeds.", {"tests", "build"}),
    ("Tests are passing and lint is clean.", {"tests", "lint"}),
    ("`npm test` passes locally.", {"tests"}),
    ("mypy and ruff pass with no errors.", set()),  # "errors" hedges: no claim rather than a wrong one
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
    assert mismatches(judge(extract("Committed."), _ev(has_commits=False))) == []


@pytest.mark.parametrize("cmd,kind", [
    ("cd /w/app && .venv/bin/python -m pytest -q -x", "tests"), ("uv run pytest", "tests"),
    ("CI=1 npx vitest run", "tests"), ("echo pytest", None), ("grep -r jest src", None),
])
def test_check_commands_behind_wrappers(cmd, kind):
    assert check_kind(cmd) == kind
