"""reports/examples/ holds reports rendered from a fixture (latest.json, the JSON report of the demo).

Regenerate after a deliberate change to the templates or the report's data:
    ORCH_UPDATE_EXAMPLES=1 python -m pytest tests/test_examples.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path


from orchestrator.report.render import render_html, render_json, render_markdown

EXAMPLES = Path(__file__).resolve().parent.parent / "reports" / "examples"
UPDATE = bool(os.environ.get("ORCH_UPDATE_EXAMPLES"))


def normalise(ctx: dict, base: str) -> dict:
    """Make a real demo context deterministic: fixed paths, clock and commit ids."""
    text = json.dumps(ctx)
    text = text.replace(base, "/home/ana/work")
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "2026-11-24T07:30:00Z", text)
    shas: dict[str, str] = {}
    text = re.sub(r"\b[0-9a-f]{40}\b|\b[0-9a-f]{9}\b",
                  lambda m: shas.setdefault(m.group(0), f"{len(shas) + 1:x}".rjust(len(m.group(0)), "c")), text)
    return json.loads(text)


def demo_context(tmp_path, monkeypatch) -> dict:
    monkeypatch.setenv("ORCH_HOST", "ana-laptop")
    from orchestrator.demo import build_demo

    _root, outcome = build_demo(tmp_path / "demo")
    return normalise(outcome.context, str(tmp_path / "demo"))


def keys(value, prefix=""):
    """The set of key paths in a JSON value (lists by their first element)."""
    if isinstance(value, dict):
        out = set()
        for k, v in value.items():
            out.add(prefix + k)
            out |= keys(v, prefix + k + ".")
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return keys(value[0], prefix)
    return set()


def test_examples_are_rendered_from_the_fixture(tmp_path, monkeypatch):
    if UPDATE or not (EXAMPLES / "latest.json").exists():
        (EXAMPLES / "latest.json").write_text(render_json(demo_context(tmp_path, monkeypatch)))
    ctx = json.loads((EXAMPLES / "latest.json").read_text())
    rendered = {"latest.md": render_markdown(ctx), "latest.html": render_html(ctx), "latest.json": render_json(ctx)}
    for name, body in rendered.items():
        if UPDATE or not (EXAMPLES / name).exists():
            (EXAMPLES / name).write_text(body)
        assert (EXAMPLES / name).read_text() == body, f"{name} is stale: regenerate with ORCH_UPDATE_EXAMPLES=1"


def test_fixture_has_every_field_a_real_tick_produces(tmp_path, monkeypatch):
    real = demo_context(tmp_path, monkeypatch)
    fixture = json.loads((EXAMPLES / "latest.json").read_text())
    missing = keys(real) - keys(fixture)
    assert not missing, f"reports/examples/latest.json lacks {sorted(missing)}: regenerate with ORCH_UPDATE_EXAMPLES=1"
