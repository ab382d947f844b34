"""Render the report context with the Jinja2 templates in `reports/` (Markdown, HTML) and as JSON."""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, select_autoescape

from orchestrator.redact import redact
from orchestrator.system.resources import data_dir

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACE = re.compile(r"\s+")
MD_ACT_NOW_MAX = 25  # detailed Act-now lines; the rest are grouped by condition, ids only


def md(value, limit: int = 160) -> str:
    """Make untrusted text safe on one Markdown line: no newlines, no HTML, no secrets, bounded."""
    text = _SPACE.sub(" ", _CONTROL.sub("", redact(str(value if value is not None else "")))).strip()
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hhmm(iso_text: str | None) -> str:
    """'2026-11-24T07:55:02Z' -> '11-24 07:55'."""
    if not iso_text:
        return "?"
    return f"{iso_text[5:10]} {iso_text[11:16]}"


def evidence(view: dict, limit: int = 2, width: int = 90) -> str:
    items = view.get("evidence") or []
    return "; ".join(f"{e['kind']}: {md(e.get('text'), width)}" for e in items[:limit])


def ordered_groups(items: list[dict], key: str) -> list[tuple[str, list[dict]]]:
    """Group items by `key`, keeping the order in which each group first appears (urgency order)."""
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item[key], []).append(item)
    return list(groups.items())


def stopped_at(last_tick_at: str | None, limit_seconds: int, now: str | None) -> str:
    """'42m ago' when the last tick is older than interval plus grace at `now`, else ''."""
    from orchestrator.timeutil import format_duration, parse_iso_lenient

    last, at = parse_iso_lenient(last_tick_at), parse_iso_lenient(now)
    if last is None or at is None or (at - last).total_seconds() <= limit_seconds:
        return ""
    return f"{format_duration(at - last)} ago"


def svg_spans(spans: list[dict]):
    """The `<rect>` of each condition run in a timeline row (hundreds per page: formatted here, escaped, not looped
    in Jinja, which would cost a tick several percent more)."""
    from markupsafe import Markup, escape

    out = []
    for s in spans:
        start, end = s["from"], s["to"]
        day = f"{end[:10]} " if end[:10] != start[:10] else ""
        out.append(f'<rect class="span {escape(s["condition"])}" x="{s["x"]}" y="2" width="{s["w"]}" height="12">'
                   f'<title>{escape(s["condition"])} {escape(s["for"])}: {escape(start[:10])} {escape(start[11:16])} '
                   f'to {escape(day)}{escape(end[11:16])} UTC</title></rect>')
    return Markup("".join(out))


def dur(seconds) -> str:
    from orchestrator.timeutil import format_duration

    return format_duration(seconds)


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Compiled templates in the user's cache folder (keyed by their source), so a tick does not recompile them."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "orch", "templates")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(folder) if os.access(folder, os.W_OK) else None


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        bytecode_cache=_bytecode_cache(),
        loader=FileSystemLoader(str(data_dir("reports"))),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "html.jinja"), default_for_string=False, default=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(md=md, hhmm=hhmm, evidence=evidence, redact=redact, ordered_groups=ordered_groups, dur=dur,
                       svg_spans=svg_spans, registered_names=lambda ps: [p["package"] for p in ps if p.get("registered")])
    env.globals["stopped_at"] = stopped_at
    env.globals["ACT_NOW_MAX"] = MD_ACT_NOW_MAX
    return env


def render_markdown(ctx: dict) -> str:
    return environment().get_template("latest.md.jinja").render(**ctx)


def render_html(ctx: dict) -> str:
    return environment().get_template("latest.html.jinja").render(**ctx)


def render_json(ctx: dict) -> str:
    return json.dumps(ctx, indent=1, sort_keys=False, default=str) + "\n"


def render_history_html(history: dict, project: str, now, fit: bool = False) -> str:
    """The standalone page of `orch history --html`: the same timeline and the period's figures (`fit`: the axis
    from the first activity, for the default period; a period asked for with --since is shown whole)."""
    from orchestrator.report import timeline
    from orchestrator.timeutil import iso, parse_iso

    pic = timeline.picture(history, parse_iso(history["from"]), parse_iso(history["to"]), fit=fit)
    pic.update(limit_seconds=history["limit_seconds"], last_tick_at=history["last_tick_at"])
    return environment().get_template("history.html.jinja").render(
        history=history, timeline=pic, project=project, generated_at=iso(now))
