"""The real-session corpus: every Codex rollout and Claude Code transcript in ../shared/corpus/sessions reads right."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ORCH

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.mark.skipif(CORPUS is None, reason="no session corpus: ../shared/corpus/sessions (with check_sessions.py "
                                           "and manifest.json) is not beside this checkout")
def test_every_real_session_file_reads_right_with_every_token_total():
    proc = subprocess.run([sys.executable, str(CORPUS / "check_sessions.py"), ORCH], capture_output=True, text=True,
                          timeout=1800)
    out = proc.stdout
    assert proc.stderr.strip() == "" or "Traceback" not in proc.stderr, proc.stderr
    classified = re.search(r"^(\d+)/(\d+) real session files classified correctly$", out, re.M)
    assert classified, out[-3000:]
    misses = [line for line in out.splitlines() if line.rstrip().endswith("MISS")]
    assert not misses and classified.group(1) == classified.group(2), out
    tokens = re.search(r"^\(informational\) (\d+)/(\d+) token totals match", out, re.M)
    assert tokens, out[-3000:]
    wrong = [line for line in out.splitlines() if line.startswith("tokens ")]
    assert not wrong and tokens.group(1) == tokens.group(2), "\n".join(wrong)
    assert int(tokens.group(2)) > 0
    assert proc.returncode == 0, out[-3000:]
