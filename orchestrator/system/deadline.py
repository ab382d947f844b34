"""A time limit on waits for the database: past it, a wait that no longer moves is cut, and says so."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

SAMPLE = 1.0  # seconds between looks, once past the limit: a wait seen twice in a row has hung for this long


class DeadlinePassed(Exception):
    """A wait for the database outlasted the time limit."""


@contextmanager
def driver_deadline(seconds: float, cut: Callable[[], None]) -> Iterator[dict]:
    """From `seconds` on, look at the main thread every SAMPLE seconds: when it sits in one and the same call of
    the database driver at two looks in a row, call `cut` (which closes what it waits on) and raise
    DeadlinePassed. Anything else (git with its own timeouts, say) may go on past the limit. Yields a dict
    whose `expired` says whether it fired. Outside the main thread, or without SIGALRM, it only yields."""
    state: dict = {"expired": False, "seen": None}
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield state
        return

    def _look(_signum, frame) -> None:  # noqa: ANN001
        spot = _driver_call(frame)
        if spot is not None and spot == state["seen"]:
            state["expired"] = True
            signal.setitimer(signal.ITIMER_REAL, 0)
            cut()
            raise DeadlinePassed(f"a wait for the database outlasted the time limit of {seconds:g}s")
        state["seen"] = spot

    previous = signal.signal(signal.SIGALRM, _look)
    signal.setitimer(signal.ITIMER_REAL, seconds, SAMPLE)
    try:
        yield state
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _driver_call(frame) -> tuple[int, int] | None:  # noqa: ANN001
    """The innermost frame of the database driver the main thread is in, with where in it (None if none)."""
    while frame is not None:
        if "/psycopg/" in frame.f_code.co_filename:
            return id(frame), frame.f_lasti
        frame = frame.f_back
    return None
