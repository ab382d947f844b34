"""Hints orch prints run as printed: they name the running `orch` when `orch` on PATH is another one (or none)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from functools import lru_cache

from orchestrator.system.resources import running_orch

# `orch …` in backticks or after `&& `; with `command=True` also at the start (a doctor fix is a command)
_HINT = re.compile(r"(?:(?<=`)|(?<=&& ))orch(?= )")
_COMMAND = re.compile(r"(?:^|(?<=`)|(?<=&& ))orch(?= )")


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


@lru_cache(maxsize=1)
def orch_word() -> str:
    """How a user types this orch: `orch` when PATH finds this one, else its path (shell-quoted)."""
    running = running_orch()
    if running is None:
        return "orch"
    found = shutil.which("orch")
    if found and _same(found, running):
        return "orch"
    return shlex.quote(running)


def runnable(text: str, command: bool = False) -> str:
    """`text` with each `orch …` command in it naming the running executable when `orch` alone would not.

    With `command=True` the text is itself a command (a doctor fix, a "Try:" line), so a leading `orch` counts too.
    """
    word = orch_word()
    if word == "orch":
        return text
    return (_COMMAND if command else _HINT).sub(lambda _m: word, text)
