"""Merge a head into a target in memory (`git merge-tree --write-tree`), writing nothing into the repository."""

from __future__ import annotations

from pathlib import Path

from orchestrator.system.gitrun import GitResult, run_git

_OBJECTS: dict[str, str] = {}  # repository -> its object folder


def _objects(root: str | Path, timeout: float) -> str | GitResult:
    key = str(root)
    if key not in _OBJECTS:
        res = run_git(root, "rev-parse", "--path-format=absolute", "--git-path", "objects", timeout=timeout)
        if not res.ok:
            return res
        _OBJECTS[key] = res.text().strip()
    return _OBJECTS[key]


def merge_tree(root: str | Path, target: str, head: str, timeout: float) -> GitResult:
    """`git merge-tree --write-tree --name-only --no-messages TARGET HEAD`: exit 0 with the merged tree's id on the
    first line, 1 with the conflicting paths after it. Its new objects go to a temporary object folder (the
    repository's own are read through GIT_ALTERNATE_OBJECT_DIRECTORIES), and gitrun switches off every merge
    driver the configuration names, so nothing is written and no program of the worker's runs."""
    import tempfile  # only when a merge is asked: not on every tick's import path

    objects = _objects(root, timeout)
    if isinstance(objects, GitResult):
        return objects
    with tempfile.TemporaryDirectory(prefix="orch-merge-") as tmp:
        env = {"GIT_OBJECT_DIRECTORY": tmp, "GIT_ALTERNATE_OBJECT_DIRECTORIES": objects}
        return run_git(root, "merge-tree", "--write-tree", "--name-only", "--no-messages", target, head,
                       timeout=timeout, env=env)


def adds_nothing(root: str | Path, target: str, head: str, base: str | None, timeout: float) -> bool:
    """Whether the branch base..head changes something and merging `head` into `target` would leave `target`'s
    tree as it is: the branch's whole change is there already (a squash merge whose neighbouring lines changed
    since, a change made again by hand). False whenever git cannot say, the merge conflicts, or the branch's
    commits change nothing in sum (a change and its revert are not a merge)."""
    revs = [target, head] + ([base] if base else [])
    trees = run_git(root, "rev-parse", *(f"{r}^{{tree}}" for r in revs), timeout=timeout)
    ids = trees.text().split() if trees.ok else []
    if len(ids) != len(revs) or (base and ids[1] == ids[2]):
        return False
    if ids[0] == ids[1]:
        return True
    res = merge_tree(root, target, head, timeout)
    return res.ok and res.text().split("\n", 1)[0].strip() == ids[0]
