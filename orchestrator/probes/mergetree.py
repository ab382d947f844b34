"""Merge a head into a target in memory (`git merge-tree --write-tree`), writing nothing into the repository."""

from __future__ import annotations

import tempfile
from pathlib import Path

from orchestrator.system.gitrun import GitResult, run_git


_OBJECTS: dict[str, str] = {}  # repository -> its object folder
_TREES: dict[tuple[str, str], str] = {}  # (repository, commit id) -> tree id: a commit's tree never changes


def _objects(root: str | Path, timeout: float) -> str | GitResult:
    key = str(root)
    if key not in _OBJECTS:
        res = run_git(root, "rev-parse", "--path-format=absolute", "--git-path", "objects", timeout=timeout)
        if not res.ok:
            return res
        _OBJECTS[key] = res.text().strip()
    return _OBJECTS[key]


def _tree(root: str | Path, commit: str, timeout: float) -> str | None:
    """The tree of a commit given by its full id (cached), or of any other revision (asked each time)."""
    key = (str(root), commit)
    if key in _TREES:
        return _TREES[key]
    res = run_git(root, "rev-parse", "--verify", "--quiet", f"{commit}^{{tree}}", timeout=timeout)
    if not res.ok:
        return None
    tree = res.text().strip()
    if len(commit) in (40, 64) and all(c in "0123456789abcdef" for c in commit):
        _TREES[key] = tree
    return tree


def merge_tree(root: str | Path, target: str, head: str, timeout: float) -> GitResult:
    """`git merge-tree --write-tree --name-only --no-messages TARGET HEAD`: exit 0 with the merged tree's id on the
    first line, 1 with the conflicting paths after it. Its new objects go to a temporary object folder (the
    repository's own are read through GIT_ALTERNATE_OBJECT_DIRECTORIES), and gitrun switches off every merge
    driver the configuration names, so nothing is written and no program of the worker's runs."""
    objects = _objects(root, timeout)
    if isinstance(objects, GitResult):
        return objects
    with tempfile.TemporaryDirectory(prefix="orch-merge-") as tmp:
        env = {"GIT_OBJECT_DIRECTORY": tmp, "GIT_ALTERNATE_OBJECT_DIRECTORIES": objects}
        return run_git(root, "merge-tree", "--write-tree", "--name-only", "--no-messages", target, head,
                       timeout=timeout, env=env)


def adds_nothing(root: str | Path, target: str, head: str, timeout: float) -> bool:
    """Whether merging `head` into `target` would leave `target`'s tree as it is: the branch's whole change is
    there already (a squash merge whose neighbouring lines changed since, a change made again by hand). False
    whenever git cannot say, or the merge conflicts."""
    res = merge_tree(root, target, head, timeout)
    if not res.ok:
        return False
    merged = res.text().split("\n", 1)[0].strip()
    return bool(merged) and _tree(root, target, timeout) == merged
