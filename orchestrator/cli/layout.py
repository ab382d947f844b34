"""Text fitted to the terminal's width, never splitting a word: prose lines wrap at word boundaries under a hanging
indent (`wrap`); tables keep one line per item, abbreviating headers, then dropping the least needed columns, and
cut only free text, at a word, with `…` (`Table`). In a pipe (no width) nothing is wrapped or cut, for grep."""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Sequence

SGR = re.compile(r"\x1b\[[0-9;]*m")  # the colour codes orch writes itself
ELLIPSIS = "…"
GAP = 2  # spaces between table columns


def terminal_width(stream=None) -> int | None:
    """The columns of the terminal `stream` (stdout) writes to; None when it is not a terminal (a pipe, a file).
    COLUMNS, when set to a number, wins, as everywhere else."""
    stream = sys.stdout if stream is None else stream
    try:
        if not stream.isatty():
            return None
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return None
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return os.get_terminal_size(fd).columns or None
    except OSError:
        return None


def cells(text: str) -> int:
    """How many terminal columns `text` takes (colour codes take none, wide characters two)."""
    plain = SGR.sub("", text)
    if plain.isascii():
        return len(plain)
    return sum(0 if unicodedata.combining(ch) else (2 if unicodedata.east_asian_width(ch) in "WF" else 1)
               for ch in plain)


def _words(text: str) -> list[str]:
    return [w for w in text.split(" ") if w]


def cut(text: str, width: int) -> str:
    """`text` in at most `width` columns: whole words, then `…` when some were left out; a first word longer than
    the width is cut itself (nothing else fits)."""
    if cells(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    out = ""
    for word in _words(text):
        candidate = f"{out} {word}" if out else word
        if cells(candidate) + 1 > width:
            break
        out = candidate
    if not out:  # one long word: its start (colour codes are not split: this is for plain cells)
        plain = SGR.sub("", text)
        while cells(plain) + 1 > width:
            plain = plain[:-1]
        return plain + ELLIPSIS
    return out + ELLIPSIS


def wrap(prefix: str, body: str, width: int | None, indent: int | None = None) -> list[str]:
    """`prefix + body` as lines of at most `width` columns, broken between words; the lines after the first start
    under the body (a hanging indent of `indent` spaces, by default the prefix's width). No width: one line."""
    first = prefix + body
    if width is None or cells(first) <= width:
        return [first]
    hang = cells(prefix) if indent is None else indent
    if width - hang < 20:  # too narrow to hang under the prefix: hang by four spaces
        hang = min(4, hang)
    lines: list[str] = []
    line, used = prefix, cells(prefix)
    fresh = True  # nothing of the body on this line yet
    for word in _words(body):
        w = cells(word)
        if not fresh and used + 1 + w > width:
            lines.append(line)
            line, used, fresh = " " * hang, hang, True
        if fresh and line.strip() and used + w > width >= hang + w:  # only the prefix so far: the word goes under
            lines.append(line)
            line, used = " " * hang, hang
        if fresh:
            room = width - used
            if w > room and room > 0 and w > width - hang:  # a word wider than any line: cut, never split
                word, w = cut(word, room), min(w, room)
            line, used, fresh = line + word, used + w, False
        else:
            line, used = f"{line} {word}", used + 1 + w
    lines.append(line)
    return lines


@dataclass
class Column:
    """One table column. `short`: the header when the full one does not fit. `flex`: free text that may be cut
    (at a word, with …) down to `min` columns; other cells are never cut. `cap`: the most a flex column takes."""

    name: str
    short: str | None = None
    flex: bool = False
    min: int = 12
    cap: int | None = None


class Table:
    """Rows of cells (plain text, or (text, style) for a coloured one), fitted to a width: full headers if they
    fit, else the short ones; flex columns narrowed; then the columns named in `drop` left out, in that order."""

    def __init__(self, columns: Sequence[Column], drop: Sequence[str] = ()):
        self.columns = list(columns)
        self.drop = list(drop)
        self.rows: list[list[tuple[str, str | None]]] = []
        self.left_out: list[str] = []

    def add_row(self, *values) -> None:
        self.rows.append([v if isinstance(v, tuple) else (str(v), None) for v in values])

    def _natural(self, i: int, short: bool) -> int:
        col = self.columns[i]
        head = col.short if short and col.short else col.name
        return max([cells(head)] + [cells(r[i][0]) for r in self.rows])

    def _plan(self, width: int | None) -> tuple[list[int], dict[int, int], bool]:
        """(the columns shown, their widths, short headers)."""
        shown = list(range(len(self.columns)))
        natural = {i: self._natural(i, False) for i in shown}
        total = sum(natural.values()) + GAP * (len(shown) - 1)
        if width is None or total <= width:
            return shown, natural, False
        short = any(c.short for c in self.columns)
        drops = [i for name in self.drop for i, c in enumerate(self.columns) if c.name == name]
        while True:
            widths = {i: self._natural(i, short) for i in shown}
            fixed = sum(w for i, w in widths.items() if not self.columns[i].flex) + GAP * (len(shown) - 1)
            flex = [i for i in shown if self.columns[i].flex]
            mins = {i: min(widths[i], max(self.columns[i].min, cells(self.columns[i].short or self.columns[i].name)))
                    for i in flex}
            room = width - fixed
            if room >= sum(mins.values()) or not drops:
                self._share(flex, widths, mins, room)
                return shown, widths, short
            gone = drops.pop(0)
            if gone in shown:
                shown.remove(gone)
                self.left_out.append(self.columns[gone].name)

    def _share(self, flex: list[int], widths: dict[int, int], mins: dict[int, int], room: int) -> None:
        """Give the flex columns the room left, in proportion to what they would take, never below their minimum
        nor above their cap; what one cannot use goes to the others."""
        want = {i: widths[i] if self.columns[i].cap is None else min(widths[i], self.columns[i].cap) for i in flex}
        todo = sorted(flex, key=lambda i: want[i])  # the smallest first: what it leaves goes to the bigger ones
        while todo:
            i = todo.pop(0)
            rest = sum(want[j] for j in todo)
            fair = room * want[i] // (want[i] + rest) if want[i] + rest else 0
            widths[i] = max(mins[i], min(want[i], fair, room - sum(mins[j] for j in todo)))
            room -= widths[i]

    def lines(self, width: int | None, colour: bool = False) -> list[str]:
        from orchestrator.cli.terminal import paint

        self.left_out = []
        shown, widths, short = self._plan(width)
        last = shown[-1]

        def row(values: list[tuple[str, str | None]], bold: bool = False) -> str:
            parts = []
            for i in shown:
                text, style = values[i]
                if self.columns[i].flex:
                    text = cut(text, widths[i])
                pad = "" if i == last else " " * (widths[i] - cells(text))
                parts.append(paint(text, style, colour, bold=bold) + pad)
            return (" " * GAP).join(parts).rstrip()

        heads = [((c.short if short and c.short else c.name), None) for c in self.columns]
        return [row(heads, bold=True)] + [row(r) for r in self.rows]
