"""Hardening: concurrent dispatch, redaction at every output edge, control characters, input limits, small things."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ORCH


def run_many(r, argvs: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Start every command at once (real processes), wait for all."""
    procs = [subprocess.Popen([ORCH, *a], cwd=r.root, env=r.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for a in argvs]
    out = []
    for p in procs:
        so, se = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, so, se))
    return out


# --- 3. concurrent dispatch -------------------------------------------------------------------------------------

def test_concurrent_dispatches_of_one_id_and_of_one_branch(any_repo):
    r = any_repo
    same_id = run_many(r, [["dispatch", "dup", "--branch", f"b{i}"] for i in range(6)])
    codes = sorted(p.returncode for p in same_id)
    assert codes == [0, 2, 2, 2, 2, 2], [(p.returncode, p.stderr) for p in same_id]
    for p in same_id:
        if p.returncode:
            assert p.stderr.strip().splitlines() == [p.stderr.strip()]  # one line
            assert "already exists" in p.stderr and "Traceback" not in p.stderr
    same_branch = run_many(r, [["dispatch", f"t{i}", "--branch", "shared"] for i in range(6)])
    assert sorted(p.returncode for p in same_branch) == [0, 2, 2, 2, 2, 2], [p.stderr for p in same_branch]
    for p in same_branch:
        if p.returncode:
            assert "belongs to" in p.stderr and "Traceback" not in p.stderr
    owners = [t for t in r.orch_json("task", "list")["tasks"] if t["branch"] == "shared"]
    assert len(owners) == 1
    # once that task is closed, the branch is free again; re-opening the old one then is refused
    r.orch("task", "set", owners[0]["id"], "abandoned")
    r.orch("dispatch", "again", "--branch", "shared")
    back = r.orch("task", "set", owners[0]["id"], "active", check=False)
    assert back.returncode == 2 and "belongs to open task 'again'" in back.stderr
