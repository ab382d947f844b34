"""The console every CLI command prints through: redacted, control characters escaped, at the very edge."""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.segment import Segment

from orchestrator.redact import escape_controls, redact


class SafeConsole(Console):
    """A Rich console whose output never carries a secret or a raw control character from the data.

    Escaping works on the text segments (Rich's own colour codes are added afterwards, from styles);
    redaction on the finished text, so that a token is masked whatever command or field printed it.
    """

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        clean = (seg if seg.control else Segment(escape_controls(seg.text), seg.style, seg.control) for seg in buffer)
        return redact(super()._render_buffer(clean))
