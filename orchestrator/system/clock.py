"""The machine's boot clock: time elapsed since boot, which setting or jumping the wall clock does not move."""

from __future__ import annotations

import time

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
