"""Dispatch advice: free slots, the mode, and whether the report may propose dispatching."""

from __future__ import annotations

RUNNING = ("setup-pending", "setup-overdue", "working", "waiting-input", "stuck", "finished-uncommitted", "no-output")
REVIEW = ("finished", "reviewing")


def dispatch_advice(mode: str, max_concurrency: int, views: list[dict], integration_dirty: bool,
                    lane: str | None = None) -> dict:
    """How many workers may start now, and why not when none may; the active package lane, if one is chosen."""
    running = [v for v in views if v["condition"] in RUNNING]
    waiting_review = [v for v in views if v["condition"] in REVIEW]
    free = max(0, max_concurrency - len(running))
    reasons = []
    if mode != "active":
        reasons.append(f"mode is {mode}")
    if integration_dirty:
        reasons.append("the integration checkout has uncommitted changes")
    if waiting_review:
        reasons.append(f"{len(waiting_review)} task(s) wait for review")
    if free == 0:
        reasons.append(f"all {max_concurrency} slots are taken")
    packages = sorted({v["package"] for v in running if v.get("package")})
    return {
        "mode": mode,
        "max_concurrency": max_concurrency,
        "running": len(running),
        "free_slots": free,
        "possible": not reasons,
        "why_not": reasons,
        "packages": packages,
        "package_warning": len(packages) > 1,
        "lane": lane,
        "lane_note": (f"active lane {lane}: dispatch only into {lane}; spare slots are not a reason to start "
                      "unrelated work") if lane else None,
    }
