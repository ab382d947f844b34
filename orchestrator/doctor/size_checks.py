"""`orch doctor`, the ledger's size: bytes on disk, the oldest rows kept, and whether retention keeps up."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.doctor.base import Context, Finding, ok, warn
from orchestrator.timeutil import as_utc, format_duration, iso

BEHIND_GRACE = timedelta(days=1)


def _size(n: int | None) -> str:
    if n is None:
        return "size unknown"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def check_ledger_size(ctx: Context) -> list[Finding]:
    if ctx.ledger is None:
        return []
    from orchestrator.ledger import retention

    with ctx.ledger.session(readonly=True) as s:
        kept = retention.oldest(s, ctx.ledger.project(s))
    size = retention.ledger_bytes(ctx.ledger)
    retain = ctx.settings.retention
    first = kept["tick"]
    where = (f"oldest tick kept {iso(first)} ({format_duration(ctx.now - as_utc(first))} ago)"
             if first else "no tick yet")
    detail = f"{_size(size)}; {where}; retention {format_duration(retain)}"
    stale = kept["prunable_tick"]
    if stale is not None and ctx.now - as_utc(stale) > retain + BEHIND_GRACE:
        return [warn("ledger.size", f"{detail}: ticks from {iso(stale)} are past retention and still there",
                     "orch db prune")]
    return [ok("ledger.size", detail)]
