"""Merge facts for many tasks from one `git log -p` walk and one `git patch-id`, as merge_facts gives them alone.

The walk covers the default-branch refs and every task's head, down to a common ancestor of all the tasks' bases
(`^B`, B from one `git merge-base --octopus` when the bases differ), with each commit's parents and patch. From
it, per task and ref, the sets git's own commands compare: `git cherry REF HEAD BASE` marks the non-merge commits
of HEAD not in REF or BASE, each against the non-merge commits of REF not in HEAD (the same patch, whitespace
and line numbers aside: `git patch-id --stable`); the squash check takes the commits of BASE..REF that touch the
branch's files, each limited to those files, against the branch's whole-change patch id (merged.py). A task the
walk cannot answer for sure (no base, a base or head outside the walk, an empty commit on the branch, the walk
cut by its limit, any git error) is left out, and asked alone by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from orchestrator.classify.merged import MergeFacts
from orchestrator.probes.merged import _DIFF, LOG_LIMIT, PATHS_LIMIT, MergeQuery, _branch_patch
from orchestrator.system.gitrun import run_git

WALK_LIMIT = 2 * LOG_LIMIT  # commits in the whole walk; past this, every task is asked alone
_OID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


@dataclass
class Walk:
    """The commits after the common base: parents, and the diff of each non-merge commit split by file."""

    bottom: str
    parents: dict[str, tuple[str, ...]]
    sections: dict[str, list[tuple[str, bytes]]]  # commit -> [(path, the file's part of `git log -p`)]
    ref_tips: dict[str, str]  # ref name -> its commit
    _ancestors: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def ancestors(self, start: str) -> frozenset[str]:
        """`start` and its ancestors inside the walk (worked out once per commit: many tasks share a base, and
        the answer and the content check both ask for the refs')."""
        if start not in self._ancestors:
            seen, todo = ({start}, [start]) if start in self.parents else (set(), [])
            while todo:
                for p in self.parents[todo.pop()]:
                    if p in self.parents and p not in seen:
                        seen.add(p)
                        todo.append(p)
            self._ancestors[start] = frozenset(seen)
        return self._ancestors[start]


def eligible(q: MergeQuery) -> bool:
    return bool(q.base and q.head and _OID.fullmatch(q.base) and _OID.fullmatch(q.head))


def walk(root: str, queries: list[MergeQuery], refs: list[str], tips: dict[str, str], timeout: float) -> Walk | None:
    """The walk for these queries (see the module's docstring); None when git cannot give it whole."""
    bases = sorted({q.base for q in queries if eligible(q)})
    if not bases or not refs:
        return None
    bottom = bases[0]
    if len(bases) > 1:
        mb = run_git(root, "merge-base", "--octopus", *bases, timeout=timeout)
        found = mb.text().split() if mb.ok else []
        if len(found) != 1 or not _OID.fullmatch(found[0]):
            return None
        bottom = found[0]
    ref_tips = {r: tips[r] for r in refs}
    if not all(_OID.fullmatch(o) for o in ref_tips.values()):
        return None
    heads = sorted({q.head for q in queries if eligible(q)})
    log = run_git(root, "log", "-p", "--diff-merges=off", "--format=%x00%H %P", f"--max-count={WALK_LIMIT + 1}",
                  *_DIFF, *sorted(set(ref_tips.values())), *heads, f"^{bottom}", "--", timeout=timeout)
    if not log.ok or log.stderr.strip():
        return None
    parents: dict[str, tuple[str, ...]] = {}
    sections: dict[str, list[tuple[str, bytes]]] = {}
    recs = log.stdout.removeprefix(b"\0").split(b"\n\0") if log.stdout else []
    for n, rec in enumerate(recs):
        header, _, body = (rec + b"\n" if n < len(recs) - 1 else rec).partition(b"\n")
        oids = header.decode("ascii", "replace").split()
        if not oids or not all(_OID.fullmatch(o) for o in oids):
            return None
        parents[oids[0]] = tuple(oids[1:])
        if len(oids) <= 2:
            parts = _split(body.removeprefix(b"\n"))
            if parts is None:
                return None
            sections[oids[0]] = parts
    if len(parents) > WALK_LIMIT:
        return None
    return Walk(bottom, parents, sections, ref_tips)


def _split(body: bytes) -> list[tuple[str, bytes]] | None:
    """A commit's `git log -p` text split by file, each with its path; None when a header does not parse."""
    if not body:
        return []
    if not body.startswith(b"diff --git "):
        return None
    out = []
    for chunk in body[len(b"diff --git "):].split(b"\ndiff --git "):
        chunk = b"diff --git " + chunk + (b"" if chunk.endswith(b"\n") else b"\n")
        path = _header_path(chunk.split(b"\n", 1)[0][len(b"diff --git "):])
        if path is None:
            return None
        out.append((path, chunk))
    return out


def _header_path(rest: bytes) -> str | None:
    """The path of `diff --git a/P b/P` (no renames: both sides name one path), C-quoted or not."""
    if rest.startswith(b'"'):
        first, tail = _unquote(rest)
        if first is None or not tail.startswith(b' "'):
            return None
        second, end = _unquote(tail[1:])
        if second is None or end or first[2:] != second[2:]:
            return None
        return first[2:].decode("utf-8", "surrogateescape")
    if (len(rest) - 1) % 2:
        return None
    half = (len(rest) - 1) // 2
    a, b = rest[:half], rest[half + 1:]
    if rest[half:half + 1] != b" " or a[2:] != b[2:] or a[1:2] != b"/" or b[1:2] != b"/":
        return None
    return a[2:].decode("utf-8", "surrogateescape")


_ESC = {b"a": 7, b"b": 8, b"t": 9, b"n": 10, b"v": 11, b"f": 12, b"r": 13, b'"': 34, b"\\": 92}


def _unquote(s: bytes) -> tuple[bytes | None, bytes]:
    """A C-quoted string at the start of `s` (git's quote_c_style) and what follows it."""
    out, i = bytearray(), 1
    while i < len(s):
        c = s[i:i + 1]
        if c == b'"':
            return bytes(out), s[i + 1:]
        if c == b"\\":
            nxt = s[i + 1:i + 2]
            if nxt in _ESC:
                out.append(_ESC[nxt])
                i += 2
                continue
            if re.fullmatch(rb"[0-3][0-7][0-7]", s[i + 1:i + 4]):
                out.append(int(s[i + 1:i + 4], 8))
                i += 4
                continue
            return None, b""
        out += c
        i += 1
    return None, b""


def patch_ids(root: str, texts: list[bytes], timeout: float) -> list[str | None] | None:
    """`git patch-id --stable` of each text (one call for all); None for a text without a patch."""
    if not texts:
        return []
    feed = b"".join(b"commit %040x\n" % i + t for i, t in enumerate(texts))
    res = run_git(root, "patch-id", "--stable", input=feed, timeout=timeout)
    if not res.ok:
        return None
    out: list[str | None] = [None] * len(texts)
    for line in res.text().splitlines():
        pid, _, fake = line.partition(" ")
        if not fake.strip() or int(fake, 16) >= len(texts):
            return None
        out[int(fake, 16)] = pid
    return out


def _touches(path: str, paths: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in paths)


def answer(root: str, w: Walk, queries: list[MergeQuery], refs: list[str], tips: dict[str, str],
           known: dict[str, tuple[str, ...]], timeout: float, pool) -> dict[str, MergeFacts]:
    """Merge facts for the queries the walk can answer; `known`: refs already known to contain a branch's head."""
    commits = [c for c in w.sections if w.sections[c]]
    whole = patch_ids(root, [b"".join(s for _, s in w.sections[c]) for c in commits], timeout)
    if whole is None:
        return {}
    ids = dict(zip(commits, whole))
    reach = {ref: w.ancestors(w.ref_tips[ref]) for ref in refs}
    flows, out = {}, {}
    for q in queries:
        if not eligible(q) or (q.base not in w.parents and q.base != w.bottom) or \
                (q.head not in w.parents and q.head != q.base):
            continue
        flows[q.key] = _flow(q, w, refs, reach, ids, tips, known.get(q.key))
    sends = {k: None for k in flows}
    while flows:
        asks = {}
        for key in list(flows):
            try:
                asks[key] = flows[key].send(sends[key])
            except StopIteration as stop:
                if stop.value is not None:
                    out[key] = stop.value
                del flows[key]
        mines = {k: pool.submit(_branch_patch, root, a[1], timeout) for k, a in asks.items() if a[0] == "mine"}
        squash = {k: a for k, a in asks.items() if a[0] == "squash"}
        sends = {k: f.result() for k, f in mines.items()}
        sends.update(_squash_hits(root, w, reach, squash, timeout))
    return out


def _squash_hits(root: str, w: Walk, reach: dict, asks: dict, timeout: float) -> dict:
    """For each ("squash", query, ref, mine): whether a commit of BASE..REF, limited to the branch's files, has the
    branch's whole-change patch id; None (ask alone) when more than LOG_LIMIT commits touch them."""
    texts: dict[bytes, int] = {}
    wanted = {}
    for key, (_, q, ref, mine) in asks.items():
        below = w.ancestors(q.base)
        picked = []
        for c in reach[ref] - below:
            parts = [s for p, s in w.sections.get(c, ()) if _touches(p, mine[1])]
            if parts and len(w.parents[c]) <= 1:
                picked.append(texts.setdefault(b"".join(parts), len(texts)))
        wanted[key] = picked if len(picked) <= LOG_LIMIT else None
    got = patch_ids(root, list(texts), timeout) if texts else []
    out = {}
    for key, picked in wanted.items():
        if picked is None or got is None:
            out[key] = None
        else:
            out[key] = bool(set(asks[key][3][0]) & {got[i] for i in picked if got[i]})
    return out


def _flow(q: MergeQuery, w: Walk, refs: list[str], reach: dict, ids: dict, tips: dict, contained):
    """merge_facts' steps for one task, on the walk; yields ("mine", q) or ("squash", q, ref, mine) for what it
    needs asked, returns the facts (None: ask alone)."""
    base = MergeFacts(head=q.head, head_from=q.head_from, base=q.base, checked=tuple(sorted(tips)))
    if q.head == q.base:
        return replace(base, commits=0)
    mine_h = w.ancestors(q.head)
    below = w.ancestors(q.base)
    if contained is None:
        contained = tuple(r for r in refs if q.head in reach[r])
    if contained:
        return replace(base, commits=len(mine_h - below), contained_in=tuple(contained))
    mine, commits = q.patch, None
    for ref in refs:
        side = [c for c in mine_h - below - reach[ref] if len(w.parents[c]) <= 1]
        if any(not w.sections.get(c) or not ids.get(c) for c in side):
            return None  # an empty commit: git's own patch id of "no change", not modelled here
        theirs = {ids[c] for c in reach[ref] - mine_h if len(w.parents[c]) <= 1 and ids.get(c)}
        marks = ["-" if ids[c] in theirs else "+" for c in side]
        commits = len(marks) if commits is None else commits
        if not marks:
            return replace(base, commits=0)
        if all(m == "-" for m in marks):
            return replace(base, commits=len(marks), patch_in=((ref, "rebase"),), patch=mine)
        if len(marks) > 1:
            if mine is None:
                mine = yield ("mine", q)
            if mine is not None and mine[0] and mine[1] and len(mine[1]) <= PATHS_LIMIT:
                hit = yield ("squash", q, ref, mine)
                if hit is None:
                    return None
                if hit:
                    return replace(base, commits=len(marks), patch_in=((ref, "squash"),), patch=mine)
    return replace(base, commits=commits, patch=mine)


def may_hold(w: Walk, queries: list[MergeQuery], refs: list[str]) -> dict[str, tuple[str, ...]]:
    """Per query the walk covers, the refs whose commits after its base touch a file its commits touch: only there
    can merging it change nothing (merged.content_check). A ref that touched none of them still lacks the whole
    change, so the in-memory merge is not asked there."""
    reach = {ref: w.ancestors(w.ref_tips[ref]) for ref in refs}
    on_ref: dict[tuple[str, str], set[str]] = {}  # (base, ref) -> paths its commits after base touch
    out = {}
    for q in queries:
        if not eligible(q) or q.head not in w.parents or (q.base not in w.parents and q.base != w.bottom):
            continue
        below = w.ancestors(q.base)
        mine = {p for c in w.ancestors(q.head) - below for p, _ in w.sections.get(c, ())}
        hold = []
        for ref in refs:
            if (q.base, ref) not in on_ref:
                on_ref[(q.base, ref)] = {p for c in reach[ref] - below for p, _ in w.sections.get(c, ())}
            if mine & on_ref[(q.base, ref)]:
                hold.append(ref)
        out[q.key] = tuple(hold)
    return out
