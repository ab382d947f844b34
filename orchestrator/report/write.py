"""Write latest.md/.json/.html atomically, keep a bounded copy of each tick's Markdown in history/."""

from __future__ import annotations

from pathlib import Path

from orchestrator.redact import redact_obj
from orchestrator.system.files import own_dir, sweep_tmp, write_atomic
from orchestrator.report.render import render_html, render_json, render_markdown


def write_reports(folder: Path, ctx: dict, keep: int = 200, html_extra: dict | None = None) -> list[str]:
    """Render and write every report (`html_extra`: what only the HTML page shows); return the paths written."""
    ctx = redact_obj(ctx)  # at the edge: every string of every format, whatever the templates show
    html_extra = redact_obj(html_extra) if html_extra else html_extra
    own_dir(folder, 0o755)  # a symbolic link here (or at history/) is refused, never written through
    sweep_tmp(folder)  # temp files a killed tick left behind
    outputs = {
        "latest.md": render_markdown(ctx),
        "latest.json": render_json(ctx),
        "latest.html": render_html({**ctx, **(html_extra or {})}),
    }
    written = []
    for name, body in outputs.items():
        write_atomic(folder / name, body, dir_mode=0o755)
        written.append(str(folder / name))
    history = folder / "history"
    stamp = (ctx["generated_at"] or "").replace(":", "").replace("-", "")
    write_atomic(history / f"{stamp}-tick{ctx['tick']}.md", outputs["latest.md"], dir_mode=0o755)
    sweep_tmp(history)
    prune_history(history, keep)
    return written


def prune_history(history: Path, keep: int) -> int:
    """Delete the oldest history reports beyond `keep`; return how many went."""
    own_dir(history, 0o755)
    files = sorted((p for p in history.glob("*.md") if p.is_file() and not p.is_symlink()),
                   key=lambda p: (p.stat().st_mtime, p.name))
    extra = files[:-keep] if keep > 0 else files
    for p in extra:
        p.unlink(missing_ok=True)
    return len(extra)
