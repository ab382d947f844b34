"""Gather the merge facts of a task's head against the default branch and its remote-tracking copies (git only).

Three ways a branch reaches the default branch, asked in this order, each only when the one before said no:
1. its head is in the history of `main` or `origin/main` (a merge, a fast forward, a pull request merged on
   the server and fetched): one `git for-each-ref --contains`;
2. every commit's patch is there (a rebase or cherry-pick merge): `git cherry REF HEAD BASE`;
3. the branch's whole change is there as one commit (a squash merge of several commits): the patch id of the
   diff BASE..HEAD against the patch ids of the commits on REF after BASE, limited to the files the branch
   changed (`git patch-id --stable`, which ignores line numbers and whitespace);
4. merging the head into REF would leave REF's tree as it is (a squash merge after REF changed the lines next to
   the branch's, so no patch id matches): `git merge-tree --write-tree` in memory (probes/mergetree.py).
Nothing is written into the repository and no external diff, text conversion or merge driver can run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from orchestrator.classify.merged import MergeFacts
from orchestrator.probes.mergetree import adds_nothing
from orchestrator.system.gitrun import run_git

_DIFF = ("--no-ext-diff", "--no-textconv", "--no-color", "--no-renames")
LOG_LIMIT = 2000  # commits on the default branch looked at for a squash merge
PATHS_LIMIT = 1000  # a branch touching more files than this is not looked for as a squash merge


@dataclass(frozen=True)
class MergeQuery:
    """One task's head to look for: its branch tip, or the last HEAD orch saw when the branch is gone."""

    key: str
    head: str
    base: str | None
    head_from: str = "branch"
    branch: str | None = None  # while the branch exists: asked with the other branches in one call
    patch: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # known (patch ids, paths) of base..head


def default_tips(remote_refs: dict[str, str], default_branch: str, local_tip: str | None) -> dict[str, str]:
    """`{"main": oid, "origin/main": oid}`: the default branch and its remote-tracking copies that exist."""
    tips = {default_branch: local_tip} if local_tip else {}
    suffix = "/" + default_branch
    for name, oid in sorted(remote_refs.items()):
        if name.endswith(suffix) and "/" not in name[: -len(suffix)]:
            tips[name] = oid
    return tips


def _full(name: str, default_branch: str) -> str:
    return f"refs/heads/{name}" if name == default_branch else f"refs/remotes/{name}"


def _distinct(tips: dict[str, str], default_branch: str) -> list[str]:
    """The refs to look at, one per distinct commit, the local default branch first."""
    seen, out = set(), []
    for name in sorted(tips, key=lambda n: (n != default_branch, n)):
        if tips[name] not in seen:
            seen.add(tips[name])
            out.append(name)
    return out


def _patch_ids(root: str, data: bytes, timeout: float) -> set[str] | None:
    if not data.strip():
        return set()
    res = run_git(root, "patch-id", "--stable", input=data, timeout=timeout)
    if not res.ok:
        return None
    return {line.split()[0] for line in res.text().splitlines() if line.split()}


def _squashed_into(root: str, q: MergeQuery, ref: str, default_branch: str, timeout: float,
                   mine: tuple[tuple[str, ...], tuple[str, ...]] | None) -> bool:
    """Whether one commit on `ref` after the base carries the branch's whole change (a squash merge)."""
    if mine is None or not mine[0] or not mine[1] or len(mine[1]) > PATHS_LIMIT:
        return False
    ids, paths = mine
    log = run_git(root, "log", "-p", "--no-merges", f"--max-count={LOG_LIMIT}", "--format=commit %H", *_DIFF,
                  f"{q.base}..{_full(ref, default_branch)}", "--", *paths, timeout=timeout,
                  env={"GIT_LITERAL_PATHSPECS": "1"})
    if not log.ok:
        return False
    theirs = _patch_ids(root, log.stdout, timeout)
    return bool(theirs and set(ids) & theirs)


def _branch_patch(root: str, q: MergeQuery, timeout: float) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The patch id of the branch's whole change base..head, and the files it touches (kept with the answer,
    so that a later tick does not compute them again for the same head)."""
    names = run_git(root, "diff", "--name-only", "-z", *_DIFF, q.base, q.head, timeout=timeout)
    diff = run_git(root, "diff", *_DIFF, q.base, q.head, timeout=timeout)
    if not names.ok or not diff.ok:
        return None
    paths = [p for p in names.stdout.decode("utf-8", "surrogateescape").split("\0") if p]
    ids = _patch_ids(root, diff.stdout, timeout)
    return (tuple(sorted(ids)), tuple(paths[:PATHS_LIMIT + 1])) if ids is not None else None


def maximal_refs(root: str, tips: dict[str, str], default_branch: str, timeout: float) -> list[str]:
    """The default-branch refs worth asking: one per distinct commit, and none whose history another one
    contains (`main` behind `origin/main` after a fetch: only `origin/main`). One `git merge-base --independent`."""
    names = _distinct(tips, default_branch)
    if len(names) < 2:
        return names
    res = run_git(root, "merge-base", "--independent", *(tips[n] for n in names), timeout=timeout)
    keep = set(res.text().split()) if res.ok else set()
    return [n for n in names if tips[n] in keep] or names


def _merged_branches(root: str, queries: list[MergeQuery], refs: list[str], default_branch: str,
                     timeout: float) -> dict[str, tuple[str, ...]] | None:
    """Which of the queried branches' tips each ref contains: one `git for-each-ref --merged` per ref for all."""
    asked = [q for q in queries if q.branch and q.head_from == "branch"]
    if not asked:
        return {}
    out: dict[str, tuple[str, ...]] = {q.key: () for q in asked}
    for ref in refs:
        res = run_git(root, "for-each-ref", f"--merged={_full(ref, default_branch)}", "--format=%(refname)%00%(objectname)",
                      *(f"refs/heads/{q.branch}" for q in asked), timeout=timeout)
        if not res.ok:
            return None
        tips = dict(line.split("\0", 1) for line in res.text().splitlines() if "\0" in line)
        for q in asked:
            if tips.get(f"refs/heads/{q.branch}") == q.head:
                out[q.key] += (ref,)
    return out


def merge_facts(root: str, q: MergeQuery, tips: dict[str, str], default_branch: str, timeout: float,
                refs: list[str] | None = None, contained: tuple[str, ...] | None = None) -> MergeFacts:
    """Ask git whether `q.head` reached the default branch (see the module's docstring for the order).
    `refs`: the refs to ask (maximal_refs); `contained`: the refs already known to contain the head."""
    refs = _distinct(tips, default_branch) if refs is None else refs
    base = MergeFacts(head=q.head, head_from=q.head_from, base=q.base, checked=tuple(sorted(tips)))
    if not refs:
        return replace(base, error=f"the default branch {default_branch} does not exist")
    if q.base and q.head == q.base:
        return replace(base, commits=0)
    if contained is None:
        res = run_git(root, "for-each-ref", "--contains", q.head, "--format=%(refname)",
                      *(_full(r, default_branch) for r in refs), timeout=timeout)
        if not res.ok:
            return replace(base, error=res.error_line())
        found = set(res.text().split())
        contained = tuple(r for r in refs if _full(r, default_branch) in found)
    if contained:
        commits = None
        if q.base:
            count = run_git(root, "rev-list", "--count", f"{q.base}..{q.head}", timeout=timeout)
            commits = int(count.text().strip()) if count.ok and count.text().strip().isdigit() else None
        return replace(base, commits=commits, contained_in=tuple(contained))
    commits = None
    mine = q.patch
    for ref in refs:
        args = ["cherry", _full(ref, default_branch), q.head] + ([q.base] if q.base else [])
        cherry = run_git(root, *args, timeout=timeout)
        if not cherry.ok:
            return replace(base, error=cherry.error_line())
        marks = [line[:1] for line in cherry.text().splitlines() if line[:1] in "+-"]
        commits = len(marks) if commits is None else commits
        if not marks:
            return replace(base, commits=0)
        if all(m == "-" for m in marks):
            return replace(base, commits=len(marks), patch_in=((ref, "rebase"),), patch=mine)
        if len(marks) > 1 and q.base:
            if mine is None:
                mine = _branch_patch(root, q, timeout)
            if _squashed_into(root, q, ref, default_branch, timeout, mine):
                return replace(base, commits=len(marks), patch_in=((ref, "squash"),), patch=mine)
    return content_check(root, replace(base, commits=commits, patch=mine), refs, tips, default_branch, timeout)


def content_check(root: str, facts: MergeFacts, refs: list[str], tips: dict[str, str], default_branch: str,
                  timeout: float) -> MergeFacts:
    """The last way, asked only when the others said no: merging the head into a ref would change nothing
    (a squash merge whose neighbouring lines changed on the ref first, so no patch id matches); probes/mergetree."""
    if facts.error or not facts.commits or facts.contained_in or facts.patch_in:
        return facts
    for ref in refs:
        if adds_nothing(root, tips.get(ref) or _full(ref, default_branch), facts.head, facts.base, timeout):
            return replace(facts, patch_in=((ref, "squash"),))
    return facts


def probe_merges(root: str, queries: list[MergeQuery], tips: dict[str, str], default_branch: str, timeout: float,
                 workers: int) -> dict[str, MergeFacts]:
    """Merge facts for each query: the refs narrowed once, the existing branches asked together and, at the same
    time, one walk over the refs and every head (mergewalk.py) that answers the rebase and squash checks of all
    tasks; a task the walk cannot answer for sure is asked alone (merge_facts), in parallel."""
    from orchestrator.probes import mergewalk

    if not queries:
        return {}
    refs = maximal_refs(root, tips, default_branch, timeout)
    with ThreadPoolExecutor(max_workers=max(2, min(workers, len(queries)))) as pool:
        merged = pool.submit(_merged_branches, root, queries, refs, default_branch, timeout)
        walked = pool.submit(mergewalk.walk, root, queries, refs, tips, timeout) if refs else None
        known = merged.result() or {}
        w = walked.result() if walked is not None else None
        done = mergewalk.answer(root, w, queries, refs, tips, known, timeout, pool) if w is not None else {}
        # the walk answers the first three ways; the last one (content_check) is asked of the tasks it left
        # unmerged, on the refs that touched their files since their base
        open_ = [q for q in queries if q.key in done and not done[q.key].contained_in and not done[q.key].patch_in]
        hold = mergewalk.may_hold(w, open_, refs) if open_ else {}
        last = {k: pool.submit(content_check, root, done[k], list(refs_), tips, default_branch, timeout)
                for k, refs_ in hold.items() if refs_}
        futs = {q.key: pool.submit(merge_facts, root, q, tips, default_branch, timeout, refs, known.get(q.key))
                for q in queries if q.key not in done}
        done.update({k: f.result() for k, f in last.items()})
        return {q.key: done[q.key] if q.key in done else futs[q.key].result() for q in queries}


def task_merge_facts(root: str, branch: str, last_head: str | None, base: str | None, default_branch: str,
                     timeout: float) -> MergeFacts | None:
    """A task's merge facts asked now (for `orch task set T merged`): its branch tip, or the last head seen
    when the branch is gone; None when there is neither."""
    res = run_git(root, "for-each-ref", "--format=%(refname)%00%(objectname)", f"refs/heads/{default_branch}",
                  f"refs/heads/{branch}", f"refs/remotes/*/{default_branch}", timeout=timeout)
    refs = {}
    for line in res.text().splitlines() if res.ok else []:
        name, _, oid = line.partition("\0")
        refs[name] = oid
    tip = refs.get(f"refs/heads/{branch}")
    head = tip or last_head
    if not head:
        return None
    remotes = {k[len("refs/remotes/"):]: v for k, v in refs.items() if k.startswith("refs/remotes/")}
    tips = default_tips(remotes, default_branch, refs.get(f"refs/heads/{default_branch}"))
    if not res.ok:
        return MergeFacts(head=head, head_from="branch" if tip else "last-seen", base=base, error=res.error_line())
    return merge_facts(root, MergeQuery("", head, base, "branch" if tip else "last-seen"), tips, default_branch, timeout,
                       refs=maximal_refs(root, tips, default_branch, timeout))
