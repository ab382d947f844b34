"""The merge checks' one walk (probes/mergewalk.py) gives every task the facts that merge_facts gives it alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from orchestrator.probes import merged, mergewalk
from orchestrator.probes.merged import MergeQuery, default_tips, maximal_refs, merge_facts, probe_merges

T = 30


def _commit(r, files: dict, msg: str) -> str:
    return r.commit_bytes(files, msg)


def _branch(r, name: str, commits: list[dict], start: str = "main") -> tuple[str, str]:
    """A branch from `start` with these commits; returns (base, head) and leaves main checked out."""
    base = r.git("rev-parse", start)
    r.git("checkout", "-q", "-b", name, start)
    for i, files in enumerate(commits):
        _commit(r, files, f"{name} {i}")
    head = r.git("rev-parse", "HEAD")
    r.git("checkout", "-q", "main")
    return base, head


def _shapes(r, layout: str) -> list[MergeQuery]:
    r.git("config", "core.quotePath", "true")
    _commit(r, {"shared.txt": b"one\ntwo\nthree\nfour\nfive\nsix\nseven\n", "bin.dat": bytes(range(256))}, "start")
    q = {}
    q["ff"] = _branch(r, "ff", [{"ff.txt": b"ff\n"}])
    q["merge"] = _branch(r, "merge", [{"m1.txt": b"m\n"}, {"m2.txt": b"m\n"}])
    q["rebase"] = _branch(r, "rebase", [{"rb1.txt": b"r\n"}, {"rb2.txt": b"r\n"}])
    q["partial"] = _branch(r, "partial", [{"p1.txt": b"p\n"}, {"p2.txt": b"p\n"}, {"p3.txt": b"p\n"}])
    q["squash"] = _branch(r, "squash", [{"sq.txt": b"a\n"}, {"sq.txt": b"a\nb\n", "sq2.txt": b"s\n"}])
    q["squash-near"] = _branch(r, "squash-near", [{"sn1.txt": b"a\n"}, {"sn2.txt": b"b\n"}])
    q["squash-one"] = _branch(r, "squash-one", [{"so.txt": b"one\n"}])
    q["empty"] = _branch(r, "empty", [])
    q["empty-commit"] = _branch(r, "empty-commit", [{}])
    q["open"] = _branch(r, "open", [{"o1.txt": b"o\n"}, {"shared.txt": b"one\ntwo\nthree\nfour\nfive\nsix\nSEVEN\n"}])
    q["binary"] = _branch(r, "binary", [{"bin.dat": bytes(range(255, -1, -1))}, {"bin2.dat": b"\0\1\2"}])
    q["binary-other"] = _branch(r, "binary-other", [{"bin.dat": b"\0" + bytes(range(255))}])
    q["odd"] = _branch(r, "odd", [{b"sp ace.txt": b"s\n", b"new\nline.txt": b"n\n"}, {b"bad\xff.txt": b"x\n"}])
    q["ws"] = _branch(r, "ws", [{"ws.txt": b"a b\n"}])
    q["gone"] = _branch(r, "gone", [{"gone.txt": b"g\n"}, {"gone2.txt": b"g\n"}])
    side_base, _ = _branch(r, "side", [{"side.txt": b"side\n"}])
    q["off-side"] = (r.git("rev-parse", "side"), _branch(r, "off-side", [{"os.txt": b"o\n"}], start="side")[1])
    q["with-main"] = _branch(r, "with-main", [{"wm.txt": b"w\n"}])

    # main moves on, and takes some of them in
    _commit(r, {"elsewhere.txt": b"main moved\n"}, "main moves")
    r.git("merge", "-q", "--ff-only", "ff") if False else r.git("merge", "-q", "--no-ff", "--no-edit", "ff")
    r.git("merge", "-q", "--no-ff", "--no-edit", "merge")
    r.git("cherry-pick", f"{q['rebase'][0]}..rebase")
    r.git("cherry-pick", r.git("rev-parse", "partial~2"))
    r.git("cherry-pick", r.git("rev-parse", "partial"))
    r.git("merge", "-q", "--squash", "squash")
    r.git("commit", "-q", "-m", "squash")
    r.git("merge", "-q", "--squash", "squash-near")
    r.commit_bytes({b"neighbour.txt": b"n\n"}, "squash with a neighbour")
    r.git("merge", "-q", "--squash", "squash-one")
    r.git("commit", "-q", "-m", "squash one")
    r.git("cherry-pick", "binary")  # only its second commit: not a rebase of both
    _commit(r, {"bin.dat": b"\1" + bytes(range(255))}, "another binary change of bin.dat")
    r.git("merge", "-q", "--squash", "odd")
    r.git("commit", "-q", "-m", "odd squashed")
    _commit(r, {"ws.txt": b"a  b\n"}, "ws.txt, spaced otherwise")
    r.git("merge", "-q", "--no-ff", "--no-edit", "gone")
    r.git("branch", "-D", "gone")
    _commit(r, {}, "an empty commit on main")
    r.git("checkout", "-q", "with-main")
    r.git("merge", "-q", "--no-edit", "main")
    q["with-main"] = (q["with-main"][0], r.git("rev-parse", "HEAD"))
    r.git("checkout", "-q", "main")

    # the remote-tracking copy: ahead of main (behind), off on its own (diverged), or none
    if layout != "none":
        start = "main" if layout == "behind" else "main~6"
        r.git("checkout", "-q", "-b", "server", start)
        r.git("merge", "-q", "--no-ff", "--no-edit", "squash-one")  # merged on origin/main only (diverged)
        _commit(r, {"server.txt": b"s\n"}, "server work")
        r.git("update-ref", "refs/remotes/origin/main", "HEAD")
        r.git("checkout", "-q", "main")
        r.git("branch", "-D", "server")
    out = []
    for key, (base, head) in q.items():
        last_seen = key == "gone"
        out.append(MergeQuery(key, head, base, "last-seen" if last_seen else "branch", None if last_seen else key))
    return out


@pytest.fixture(params=["none", "behind", "diverged"])
def shaped(bare_repo, request):
    r = bare_repo
    queries = _shapes(r, request.param)
    remotes = {}
    if request.param != "none":
        remotes["origin/main"] = r.git("rev-parse", "refs/remotes/origin/main")
    tips = default_tips(remotes, "main", r.git("rev-parse", "main"))
    return r, queries, tips, request.param


def _alone(r, queries, tips, refs):
    return {q.key: merge_facts(str(r.root), q, tips, "main", T, refs) for q in queries}


def test_the_walk_answers_each_task_as_merge_facts_does(shaped):
    r, queries, tips, layout = shaped
    root = str(r.root)
    refs = maximal_refs(root, tips, "main", T)
    assert len(refs) == (2 if layout == "diverged" else 1)
    want = _alone(r, queries, tips, refs)
    # with and without the branch's whole-change patch id known from an earlier answer
    patched = [MergeQuery(q.key, q.head, q.base, q.head_from, q.branch, want[q.key].patch) for q in queries]
    for asked in (queries, patched):
        w = mergewalk.walk(root, asked, refs, tips, T)
        assert w is not None
        with ThreadPoolExecutor(4) as pool:
            got = mergewalk.answer(root, w, asked, refs, tips, {}, T, pool)
        for key in got:
            assert got[key] == want[key], key
        # the walk is sure of all but a branch with an empty commit (git's patch id of "no change"): the one made
        # so, and, against an origin/main that lacks them, the one that merged main (and its empty commit) in
        assert set(want) - set(got) == {"empty-commit"} | ({"with-main"} if layout == "diverged" else set())
    hows = {k: (f.contained_in, f.patch_in, f.commits) for k, f in want.items()}
    main_first = "main" if layout != "behind" else "origin/main"
    assert hows["rebase"][1] == ((main_first, "rebase"),) and hows["squash"][1] == ((main_first, "squash"),)
    assert hows["squash-near"][1] == ((main_first, "squash"),) and hows["odd"][1] == ((main_first, "squash"),)
    assert hows["ws"][1] == ((main_first, "rebase"),) and hows["partial"] == ((), (), 3)
    assert hows["merge"][0] and hows["gone"][0] and hows["open"] == ((), (), 2)
    assert not hows["binary"][1] and not hows["binary-other"][1]
    if layout == "diverged":
        assert hows["squash-one"][0] == ("origin/main",)


def test_probe_merges_answers_as_merge_facts_does_with_fewer_calls(shaped, monkeypatch):
    r, queries, tips, layout = shaped
    root = str(r.root)
    refs = maximal_refs(root, tips, "main", T)
    want = _alone(r, queries, tips, refs)
    calls = []
    for mod in (merged, mergewalk):
        real = mod.run_git
        monkeypatch.setattr(mod, "run_git", lambda *a, real=real, **kw: calls.append(a[1]) or real(*a, **kw))
    assert probe_merges(root, queries, tips, "main", T, workers=4) == want
    # a later tick, the whole-change patch ids known: one walk, one patch-id for the squash checks that find
    # commits touching the branch's files; git cherry (and its log) only for the branches asked alone
    patched = [MergeQuery(q.key, q.head, q.base, q.head_from, q.branch, want[q.key].patch) for q in queries]
    calls.clear()
    assert probe_merges(root, patched, tips, "main", T, workers=4) == want
    alone = 2 if layout == "diverged" else 1  # the branches with an empty commit (see above), asked alone
    assert calls.count("cherry") <= alone * len(refs) and "diff" not in calls
    assert calls.count("log") <= 1 + alone * len(refs) and calls.count("patch-id") <= 1 + len(refs) * (1 + alone)


def test_a_base_outside_the_walk_or_a_bad_head_is_asked_alone(bare_repo):
    r = bare_repo
    root = str(r.root)
    _commit(r, {"a.txt": b"a\n"}, "a")
    base, head = _branch(r, "x", [{"x.txt": b"x\n"}, {"y.txt": b"y\n"}])
    r.git("checkout", "-q", "--orphan", "lone")
    r.git("rm", "-q", "-rf", ".")
    lone = _commit(r, {"lone.txt": b"l\n"}, "unrelated root")
    r.git("checkout", "-q", "-f", "main")
    _commit(r, {"m.txt": b"m\n"}, "main moves")
    tips = default_tips({}, "main", r.git("rev-parse", "main"))
    refs = maximal_refs(root, tips, "main", T)
    qs = [MergeQuery("x", head, base, branch="x"), MergeQuery("lone", lone, lone + "", "last-seen"),
          MergeQuery("nobase", head, None, branch="x")]
    w = mergewalk.walk(root, qs, refs, tips, T)
    assert w is None  # unrelated bases: no common one
    got = probe_merges(root, qs, tips, "main", T, workers=2)
    assert got == _alone(r, qs, tips, refs)
    missing = "1" * 40
    bad = [MergeQuery("x", head, base, branch="x"), MergeQuery("bad", missing, base, "last-seen")]
    assert mergewalk.walk(root, bad, refs, tips, T) is None
    assert probe_merges(root, bad, tips, "main", T, workers=2) == _alone(r, bad, tips, refs)


def test_headers_parse_quoted_and_plain_paths():
    assert mergewalk._header_path(b"a/sp ace b/sp ace") == "sp ace"
    assert mergewalk._header_path(b'"a/new\\nline" "b/new\\nline"') == "new\nline"
    assert mergewalk._header_path(b'"a/bad\\377" "b/bad\\377"') == "bad\udcff"
    assert mergewalk._header_path(b"a/x b/y") is None and mergewalk._header_path(b'"a/x" "b/y"') is None
