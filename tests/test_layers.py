"""The pipeline's import direction, for the whole package: each stage imports only from the stages below it.

probes gather, classify decides, the ledger stores, reports render; tick.py (and tick_trust.py) is where they meet.
The ledger imports nothing above it; probes import no ledger; classify imports no ledger and no probe that does
I/O. Read from the source with `ast` (imports inside functions count too), so a violation is named with its line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "orchestrator"
ABOVE_LEDGER = ("probes", "classify", "report", "review", "integrations", "cli", "doctor", "tick", "tick_trust",
                "watch", "demo")
# probes that only parse what they are given (no files, no git, no database): classify may use them
PURE_PROBES = ("probes.sessions.codex", "probes.sessions.claude", "probes.sessions.lines", "probes.sessions.kinds")
FORBIDDEN = {
    "ledger": ABOVE_LEDGER,
    "probes": ("ledger",),
    "classify": ("ledger", "probes"),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]  # a module or a name in it
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


def violations() -> list[str]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        stage = rel.split("/")[0].removesuffix(".py")
        banned = FORBIDDEN.get(stage)
        if not banned:
            continue
        seen = set()
        for line, module in _imports(path):
            if not module.startswith("orchestrator."):
                continue
            target = module.removeprefix("orchestrator.")
            top = target.split(".")[0]
            if top not in banned or (stage == "classify" and any(target.startswith(p) for p in PURE_PROBES)):
                continue
            if (line, top) not in seen:
                seen.add((line, top))
                out.append(f"{rel}:{line} ({stage}) imports {module}")
    return out


def test_each_stage_imports_only_from_below():
    found = violations()
    assert not found, "imports that run back up the pipeline:\n  " + "\n  ".join(found)


def test_the_probes_classify_may_use_do_no_io():
    for name in PURE_PROBES:
        path = PKG / (name.replace(".", "/") + ".py")
        mods = {m for _, m in _imports(path)}
        assert not {m for m in mods if m.startswith(("orchestrator.system", "orchestrator.ledger", "sqlalchemy",
                                                     "subprocess"))}, f"{name} does I/O: {sorted(mods)}"
