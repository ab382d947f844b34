"""`orch demo`: a throwaway repository with workers in different states, and a real tick on it."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

from orchestrator.ledger.bootstrap import init_repo
from orchestrator.errors import UserError
from orchestrator.system.gitrun import run_git
from orchestrator.ledger.connect import open_ledger
from orchestrator.paths import find_repo
from orchestrator.integrations.hook_receive import append, normalise
from orchestrator.ledger.tasks import DispatchRequest, dispatch
from orchestrator.tick import TickOutcome, run_tick
from orchestrator.timeutil import utcnow

_IDENTITY = ("-c", "user.name=orch demo", "-c", "user.email=demo@orch.invalid", "-c", "commit.gpgsign=false")


def _git(cwd: Path, *args: str) -> str:
    res = run_git(cwd, *_IDENTITY, *args, timeout=30)
    if not res.ok:
        raise UserError(f"demo: git {' '.join(args)} failed: {res.error_line()}")
    return res.text()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def build_demo(target: Path | None) -> tuple[Path, TickOutcome]:
    """Create the demo repository under `target` (a new temp folder by default) and tick once."""
    base = Path(target) if target else Path(tempfile.mkdtemp(prefix="orch-demo-"))
    base = base.expanduser().resolve()
    if base.exists() and any(base.iterdir()):
        raise UserError(f"{base} is not empty: give the demo an empty or new folder")
    root = base / "shop"
    root.mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    # The repository's own identity, so that the walkthrough's merge works without a global git identity.
    _git(root, "config", "user.name", "orch demo")
    _git(root, "config", "user.email", "demo@orch.invalid")
    _git(root, "config", "commit.gpgsign", "false")
    _write(root / "README.md", "# shop\n\nA tiny demo project.\n")
    _write(root / "src" / "cart.py", "def total(items):\n    return sum(i.price for i in items)\n")
    _write(root / "tests" / "test_cart.py", "def test_empty():\n    assert True\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "Initial shop")

    trees = base / "worktrees"
    specs = {
        "checkout-fix": "fix/checkout-total",
        "search": "feat/search",
        "docs": "docs/install",
        "coupons": "feat/coupons",
    }
    for name, branch in specs.items():
        _git(root, "worktree", "add", "-q", "-b", branch, str(trees / name), "main")
    # finished: committed and clean
    _write(trees / "checkout-fix" / "src" / "cart.py",
           "def total(items):\n    return round(sum(i.price * i.qty for i in items), 2)\n")
    _git(trees / "checkout-fix", "commit", "-q", "-am", "Count quantities in the cart total")
    # busy: editing right now, nothing committed yet
    _write(trees / "search" / "src" / "search.py", "def search(q):\n    ...\n")
    _write(trees / "search" / "tests" / "test_search.py", "def test_search():\n    pass\n")

    paths = find_repo(root)
    init_repo(paths, None, {"max_concurrency": 4})
    ledger = open_ledger(paths)
    now = utcnow()
    try:
        with ledger.session() as s:
            proj = ledger.project(s)
            jobs = [
                ("T1", specs["checkout-fix"], trees / "checkout-fix", "Fix the checkout total", now),
                ("T2", specs["search"], trees / "search", "Add product search", now),
                # idle: dispatched 35 minutes ago, nothing happened since
                ("T3", specs["docs"], trees / "docs", "Write install docs", now - timedelta(minutes=35)),
                ("T4", specs["coupons"], trees / "coupons", "Coupon codes", now),
                ("T5", "feat/wishlist", None, "Wishlist (worker still starting)", now),
            ]
            for key, branch, wt, title, when in jobs:
                req = DispatchRequest(key=key, branch=branch, worktree=str(wt) if wt else None, title=title,
                                      agent="codex", allow=["src/**", "tests/**"] if key != "T3" else ["docs/**"],
                                      gates=["python -m pytest -q"] if key in ("T1", "T2") else [])
                dispatch(ledger, s, proj, req, when)
        # wrong branch: after the dispatch, the worker switched branches by mistake
        _git(trees / "coupons", "checkout", "-q", "-b", "feat/coupons-v2")
        os.utime(trees / "docs", None)
        # busy: its Codex session just took a prompt, as reported by the hook `orch hooks install codex` sets up
        append(str(root), normalise("codex", {"hook_event_name": "UserPromptSubmit", "session_id": "demo-search",
                                              "turn_id": "demo-turn-1", "cwd": str(trees / "search")}))
        outcome = run_tick(ledger)
    finally:
        ledger.close()
    return root, outcome
