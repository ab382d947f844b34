"""The machine's boot clock: time elapsed since boot, which setting or jumping the wall clock does not move."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

BOOT_ID = "/proc/sys/kernel/random/boot_id"


def boot_clock() -> dict | None:
    """{"boot": this boot's id, "up": seconds since boot} on Linux (CLOCK_BOOTTIME counts suspend too);
    None elsewhere, where orch judges by the wall clock alone."""
    clock_id = getattr(time, "CLOCK_BOOTTIME", None)
    if clock_id is None:
        return None
    try:
        with open(BOOT_ID, encoding="ascii") as fh:
            boot = fh.read(64).strip()
        return {"boot": boot, "up": round(time.clock_gettime(clock_id), 3)} if boot else None
    except OSError:
        return None


def elapsed_since(stamp: datetime | None, now: datetime, then: dict | None, boot_now: dict | None) -> timedelta | None:
    """How long ago the tick stamped `stamp` ran: by the boot clock when `then` (its reading) and `boot_now` come
    from the same boot, since setting the wall clock does not move that one; else by the wall clock. Never
    negative: None when the stamp is ahead of `now` and no boot clock tells."""
    if stamp is None:
        return None
    if then and boot_now and then.get("boot") == boot_now.get("boot") \
            and isinstance(then.get("up"), (int, float)) and isinstance(boot_now.get("up"), (int, float)):
        return timedelta(seconds=max(0.0, boot_now["up"] - then["up"]))
    delta = now - stamp
    return delta if delta >= timedelta(0) else None
