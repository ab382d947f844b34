"""The trust checks' batched `git diff-tree --stdin` gives, pair by pair, what `git diff --name-only` gives alone."""

from __future__ import annotations

import os

import pytest

from orchestrator.probes import trustgit


def _git(r, *args, cwd=None) -> str:
    return r.git(*args, cwd=cwd)


def _commit_files(r, files: dict[bytes, bytes | None], msg: str) -> str:
    return r.commit_bytes(files, msg)


@pytest.fixture
def shapes(bare_repo):
    r = bare_repo
    r.git("config", "core.quotePath", "true")
    c = {"root": r.git("rev-parse", "HEAD")}
    c["plain"] = _commit_files(r, {b"a.txt": b"a\n", b"dir/b.txt": b"b\n"}, "plain")
    c["odd"] = _commit_files(r, {b"sp ace.txt": b"s\n", b"new\nline.txt": b"n\n", b"bad\xff\xfe.txt": b"x\n",
                                 b"caf\xc3\xa9.txt": b"u\n", b"a\n/0\n": b"marker-like\n",
                                 b"d" * 40: b"oid-like name\n", b"tab\there": b"t\n"}, "odd names")
    c["empty"] = _commit_files(r, {}, "empty commit: same tree")
    c["delete"] = _commit_files(r, {b"a.txt": None, b"bin.dat": bytes(range(256)) * 4}, "delete, binary")
    c["many"] = _commit_files(r, {f"many/{i:03}.txt".encode(): b"m\n" for i in range(30)}, "many files")
    r.git("checkout", "-q", "-b", "side", c["plain"])
    c["side"] = _commit_files(r, {b"side.txt": b"side\n", b"dir/b.txt": b"changed on side\n"}, "side")
    r.git("checkout", "-q", "main")
    r.git("merge", "-q", "--no-ff", "--no-edit", "side")
    c["merge"] = r.git("rev-parse", "HEAD")
    r.git("checkout", "-q", "--orphan", "other")
    r.git("rm", "-q", "-rf", ".")
    c["unrelated"] = _commit_files(r, {b"other.txt": b"o\n"}, "unrelated root")
    r.git("checkout", "-q", "main")
    return r, c


def _alone(r, pairs):
    return {p: trustgit.committed_paths(r.root, *p, timeout=30) for p in pairs}


def test_the_batch_answers_every_pair_as_git_diff_does(shapes, monkeypatch):
    r, c = shapes
    names = list(c)
    pairs = [(c[b], c[h]) for b in names for h in names]  # every order, base == head, merges, unrelated roots
    calls = []
    real = trustgit.run_git
    monkeypatch.setattr(trustgit, "run_git", lambda *a, **kw: calls.append(a[1]) or real(*a, **kw))
    got = trustgit.committed_paths_many(r.root, pairs + pairs[:5], timeout=30)
    assert calls == ["diff-tree"]  # one call for all of them (duplicates asked once)
    want = _alone(r, pairs)
    assert got == want
    odd = got[(c["plain"], c["odd"])]
    assert "sp ace.txt" in odd and "new\nline.txt" in odd and "a\n/0\n" in odd and "d" * 40 in odd
    assert os.fsencode(next(p for p in odd if p.startswith("bad"))) == b"bad\xff\xfe.txt"
    assert got[(c["odd"], c["empty"])] == [] and got[(c["plain"], c["plain"])] == []


def test_the_cap_and_a_bad_pair_fall_back_to_the_pair_alone(shapes, monkeypatch):
    r, c = shapes
    monkeypatch.setattr(trustgit, "MAX_PATHS", 5)
    good = [(c["root"], c["many"]), (c["plain"], c["odd"]), (c["empty"], c["delete"])]
    missing = "1" * 40
    bad = [(missing, c["plain"]), (c["plain"], missing), ("main", c["odd"]), (c["plain"], "abc"),
           (c["root"], r.git("rev-parse", "HEAD^{tree}"))]
    got = trustgit.committed_paths_many(r.root, good + bad, timeout=30)
    assert got == _alone(r, good + bad)
    assert all(len(got[p]) <= 5 for p in good) and len(got[good[0]]) == 5
    assert got[(missing, c["plain"])] is None and got[(c["plain"], missing)] is None
    assert got[("main", c["odd"])] == trustgit.committed_paths(r.root, "main", c["odd"], 30)


def test_the_parser_stops_at_output_it_does_not_expect():
    h1, h2, b = "a" * 40, "b" * 40, "c" * 40
    batch = [(b, h1), (b, h2)]
    good = f"{h1}\0x\0y z\0/0\n{h2}\0/1\n".encode()
    assert trustgit._parse_batch(good, batch) == {(b, h1): ["x", "y z"], (b, h2): []}
    assert trustgit._parse_batch(good[:-3], batch) == {(b, h1): ["x", "y z"]}  # cut short: pair 1 asked alone
    assert trustgit._parse_batch(f"{h1}\0x\0/1\n".encode(), batch) == {}  # wrong marker
    assert trustgit._parse_batch(b"", batch) == {}
