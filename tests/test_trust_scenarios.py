"""Every trust scenario (tests/trustscenarios.py) as a real repository and one tick: problem shapes flagged with
the expected category, honest shapes quiet. `python tests/trustscenarios.py` prints precision and recall."""

from __future__ import annotations

import pytest

from trustscenarios import cases, run, verdict


@pytest.mark.parametrize("sc,agent", cases(), ids=[f"{s.shape}-{a}" for s, a in cases()])
def test_scenario(repo, sc, agent):
    out = run(repo, sc, agent)
    got = [f"{m['severity']} {m['category']}: {m['text']}" for m in out["items"]]
    if sc.flagged:
        assert verdict(sc, out) == "tp", f"missed: expected a {sc.expect} item, got {got}, claims {out['claims']}"
        assert all(m.get("next") and m.get("where") for m in out["items"]), "every item has a next action and a pointer"
    else:
        assert verdict(sc, out) == "tn", f"false alarm: {got}"
