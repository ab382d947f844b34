"""The real-session corpus: every Codex rollout and Claude Code transcript in ../shared/corpus/sessions reads right.

The corpus's own checker (`check_sessions.py`) does the replay. It is loaded as a module and runs `orch` through the
same in-process runner as the rest of the suite (its other commands, git included, stay real processes), and the
manifest is split into groups that pytest-xdist replays in parallel, each group with the checker's `--only`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import sys
from pathlib import Path

import pytest

from conftest import IN_PROCESS, ORCH, run_orch_in_process

ROOT = Path(__file__).resolve().parents[1]
GROUPS = 4


def _corpus() -> Path | None:
    # beside the checkout (CI clones main into another folder with shared/ next to it); from a worktree nested
    # deeper (wt/iN), further up
    here = Path(__file__).resolve()
    for base in (here.parents[2], ROOT.parent, *here.parents[3:]):
        corpus = base / "shared" / "corpus"
        if (corpus / "check_sessions.py").is_file() and (corpus / "sessions" / "manifest.json").is_file():
            return corpus
    return None


CORPUS = _corpus()
IDS = [e["id"] for e in json.loads((CORPUS / "sessions" / "manifest.json").read_text())["entries"]] if CORPUS else []


def _checker():
    spec = importlib.util.spec_from_file_location("check_sessions", CORPUS / "check_sessions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    real_run = mod.run

    def run(args, cwd, env, check=True, timeout=300):
        if not (IN_PROCESS and args and str(args[0]) == ORCH):
            return real_run(args, cwd, env, check=check, timeout=timeout)
        p = run_orch_in_process([str(a) for a in args], cwd, env)
        if check and p.returncode != 0:
            raise RuntimeError(f"{args} failed ({p.returncode}): {p.stdout[-2000:]} {p.stderr[-2000:]}")
        return p

    mod.run = run
    return mod


def _replay(ids: list[str]) -> tuple[int, str]:
    mod = _checker()
    out = io.StringIO()
    saved = sys.argv
    sys.argv = ["check_sessions.py", ORCH, "--only", *ids]
    try:
        with contextlib.redirect_stdout(out):
            code = mod.main()
    finally:
        sys.argv = saved
    return code, out.getvalue()


@pytest.mark.skipif(CORPUS is None, reason="no session corpus: ../shared/corpus/sessions (with check_sessions.py "
                                           "and manifest.json) is not beside this checkout")
@pytest.mark.parametrize("group", range(GROUPS))
def test_every_real_session_file_reads_right_with_every_token_total(group):
    ids = IDS[group::GROUPS]
    code, out = _replay(ids)
    classified = re.search(r"^(\d+)/(\d+) real session files classified correctly$", out, re.M)
    assert classified, out[-3000:]
    assert int(classified.group(2)) == len(ids), out[-3000:]
    misses = [line for line in out.splitlines() if line.rstrip().endswith("MISS")]
    assert not misses and classified.group(1) == classified.group(2), out
    tokens = re.search(r"^\(informational\) (\d+)/(\d+) token totals match", out, re.M)
    assert tokens, out[-3000:]
    wrong = [line for line in out.splitlines() if line.startswith("tokens ")]
    assert not wrong and tokens.group(1) == tokens.group(2), "\n".join(wrong)
    assert int(tokens.group(2)) > 0
    assert code == 0, out[-3000:]


@pytest.mark.skipif(CORPUS is None, reason="no session corpus beside this checkout")
def test_the_groups_cover_the_whole_manifest_once():
    groups = [IDS[g::GROUPS] for g in range(GROUPS)]
    assert sorted(i for g in groups for i in g) == sorted(IDS) and len(set(IDS)) == len(IDS)
