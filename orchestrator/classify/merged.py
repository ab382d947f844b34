"""Pure: whether a task is merged, from the merge facts git gave (probes/merged.py); the one rule every view uses."""

from __future__ import annotations

from dataclasses import dataclass, field

# How a branch reached the default branch: its head is in the default branch's history (a merge, a fast
# forward, a pull request merged on the server), every commit's patch is there (a rebase or cherry-pick
# merge: `git cherry`), or the branch's whole change is there (a squash merge: merging it would change nothing).
HOW = ("merge", "rebase", "squash")
# The tick records a merge that git shows for a task in these conditions (the worker is done) or whose
# worktree is gone (removed after merging); a worker still busy is left to finish.
SETTLED_CONDITIONS = ("finished", "reviewing")
SETTLED_REASONS = ("worktree-missing",)


@dataclass(frozen=True)
class MergeFacts:
    """What git says about a task's head and the default branch (its local branch and remote-tracking copies)."""

    head: str | None  # the task's head: its branch tip, or the last HEAD orch saw when the branch is gone
    head_from: str = "branch"  # branch | last-seen
    base: str | None = None
    commits: int | None = None  # commits in base..head (None: not counted)
    contained_in: tuple[str, ...] = ()  # default-branch refs whose history contains the head
    patch_in: tuple[tuple[str, str], ...] = ()  # (ref, rebase|squash): refs that have the branch's change already
    checked: tuple[str, ...] = ()  # the default-branch refs looked at (main, origin/main)
    error: str | None = None
    patch: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # (patch ids, paths) of base..head, when computed


@dataclass(frozen=True)
class MergeVerdict:
    """Merged or not, how, into which ref, and one line saying what git shows."""

    merged: bool
    how: str | None  # merge | rebase | squash when merged; no-commits | not-merged | unknown when not
    ref: str | None
    text: str
    head: str | None = None
    facts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"merged": self.merged, "how": self.how, "ref": self.ref, "text": self.text, "head": self.head}


def _short(oid: str | None) -> str:
    return (oid or "?")[:9]


def merge_verdict(f: MergeFacts | None, branch: str = "the branch") -> MergeVerdict:
    """The one answer to "are this task's commits on the default branch?", with what git shows in a line."""
    if f is None or not f.head:
        return MergeVerdict(False, "unknown", None, f"git shows no {branch} and orch never saw its head")
    where = f"{branch} at {_short(f.head)}" if f.head_from == "branch" else \
        f"{branch} (gone; last seen at {_short(f.head)})"
    refs = " or ".join(f.checked) or "the default branch"
    if f.error:
        return MergeVerdict(False, "unknown", None, f"git could not tell whether {where} is in {refs}: {f.error}",
                            f.head)
    if f.commits == 0 or (f.base and f.head == f.base):
        return MergeVerdict(False, "no-commits", None, f"{where} has no commits after its base: nothing to merge",
                            f.head)
    n = f" ({f.commits} commit(s))" if f.commits else ""
    if f.contained_in:
        ref = f.contained_in[0]
        return MergeVerdict(True, "merge", ref, f"{where}{n} is in {ref}", f.head)
    if f.patch_in:
        ref, how = f.patch_in[0]
        what = "every commit's patch" if how == "rebase" else "its whole change (squash)"
        return MergeVerdict(True, how, ref, f"{where}{n}: {what} is already in {ref}", f.head)
    return MergeVerdict(False, "not-merged", None,
                        f"{where}{n} is not in {refs}, and no squash or rebase of it is there", f.head)


def records_merge(status: str, condition: str, reason: str, verdict: MergeVerdict | None) -> bool:
    """Pure: the tick records the `merged` decision git shows, for a task that is done or whose worktree is gone."""
    return (verdict is not None and verdict.merged and status in ("active", "reviewing")
            and (condition in SETTLED_CONDITIONS or reason in SETTLED_REASONS))


def wants_check(status: str, *, found: bool, dirty: int, has_commits: bool, error: str | None,
                head: str | None, base: str | None, cached: dict | None, tips: dict) -> bool:
    """Pure: whether the tick asks git about a task's merge now: a task that looks done (clean with commits,
    under review, or its worktree gone) whose head or default-branch tips changed since the last answer."""
    if status not in ("active", "reviewing") or not head or not tips or head == base:
        return False
    if cached and cached.get("head") == head and cached.get("tips") == tips:
        return False
    if status == "reviewing" or not found:
        return True
    return not error and not dirty and has_commits


def cached_verdict(cached: dict | None, head: str | None, tips: dict) -> MergeVerdict | None:
    """The recorded answer when it still holds (same head, same default-branch tips), else None."""
    if not cached or not head or cached.get("head") != head or cached.get("tips") != tips:
        return None
    return MergeVerdict(bool(cached.get("merged")), cached.get("how"), cached.get("ref"), cached.get("text") or "",
                        head)
