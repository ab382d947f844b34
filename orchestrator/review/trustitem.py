"""The review checklist's `claims` item: the worker's claims with their verdicts, and its open misalignments."""

from __future__ import annotations

from orchestrator.review.checklist import Item


def item_claims(claims: list[dict], open_items: list[dict]) -> Item:
    """Fails on a contradicted claim, warns on an unverified or stale one or an open misalignment."""
    lines = [f"{c['verdict']}: {c['kind']} \"{c['text']}\" ({c.get('why', '')})" for c in claims]
    lines += [f"open #{m['id']} {m['severity']} {m['category']}: {m['text']}" for m in open_items]
    verdicts = [c["verdict"] for c in claims]
    data = {"claims": claims, "misalignments": open_items}
    if "contradicted" in verdicts:
        n = verdicts.count("contradicted")
        return Item("claims", "claims", "fail", "direct", f"{n} claim(s) contradicted by the evidence", lines, data)
    weak = [v for v in verdicts if v in ("unverified", "stale")]
    if weak or open_items:
        parts = ([f"{len(weak)} claim(s) unverified or stale"] if weak else []) + (
            [f"{len(open_items)} open misalignment(s)"] if open_items else [])
        return Item("claims", "claims", "warn", "direct", "; ".join(parts), lines, data)
    if not claims:
        return Item("claims", "claims", "pass", "direct", "no checkable claims in the worker's last message", lines, data)
    return Item("claims", "claims", "pass", "direct", f"{len(claims)} claim(s) verified", lines, data)
