"""A time limit on a step of the main thread: SIGALRM interrupts whatever blocks it, and says where it was."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator


class DeadlinePassed(Exception):
    """The step ran past its time limit."""


@contextmanager
def deadline(seconds: float, on_expire: Callable[[], None] | None = None) -> Iterator[dict]:
    """Raise DeadlinePassed in the main thread after `seconds` (after calling `on_expire`, which may cut what the
    step is blocked on). Yields a dict: `expired`, and `waiting_on` ("ledger" when the step was inside the
    database driver). Outside the main thread, or without SIGALRM, it only yields."""
    state: dict = {"expired": False, "waiting_on": None}
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield state
        return

    def _expired(_signum, frame) -> None:  # noqa: ANN001
        state["expired"] = True
        state["waiting_on"] = "ledger" if _in_driver(frame) else "probe"
        if on_expire is not None:
            on_expire()
        raise DeadlinePassed(f"past the time limit of {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield state
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _in_driver(frame) -> bool:  # noqa: ANN001
    while frame is not None:
        name = frame.f_code.co_filename
        if "/psycopg/" in name or "/sqlalchemy/engine/" in name:
            return True
        frame = frame.f_back
    return False
