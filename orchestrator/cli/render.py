"""Human output for the terminal: task tables and details (untrusted text is never markup)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from orchestrator.cli.common import out
from orchestrator.cli.hints import runnable
from orchestrator.cli.terminal import COND_STYLE, use_colour
from orchestrator.redact import redact


def print_task_list(views: list[dict]) -> None:
    if not views:
        out.print(runnable("No tasks. Record one with `orch dispatch TASK --branch B`."), markup=False)
        return
    table = Table(box=None, pad_edge=False, show_edge=False)
    for col in ("task", "status", "condition", "for", "next action", "evidence"):
        table.add_column(col)
    for v in views:
        ev = v["evidence"][0] if v["evidence"] else None
        table.add_row(Text(v["id"]), Text(v["status"]), Text(v["condition"], style=COND_STYLE.get(v["condition"], "")),
                      Text(v["for"] or ""),
                      Text(v["next_action"]), Text(f"{ev['kind']}: {ev['text']}" if ev else ""))
    if use_colour():
        out.print(table)
    else:  # NO_COLOR (or TERM=dumb): no colour and no bold either
        from orchestrator.system.terminal import SafeConsole

        SafeConsole(color_system=None, highlight=False, soft_wrap=True).print(table)


def print_task_show(view: dict, history: list[dict], observations: list[dict], sessions: list[dict] = (),
                    gate_runs: list[dict] = (), misalignments: list[dict] = ()) -> None:
    lines = [
        f"{view['id']}: {view['condition']} ({view['reason'] or '-'}) → {view['next_action']}",
        f"  title:    {redact(view['title'] or '')}",
        f"  status:   {view['status']}" + (f" ({view['status_note']})" if view.get("status_note") else ""),
        f"  branch:   {view['branch']}   base {(view['base_commit'] or '?')[:12]}",
        f"  worktree: {view['worktree'] or '(not yet)'}",
        f"  host:     {view['host']}   agent {view['agent']}" + (f"   package {view['package']}" if view['package'] else ""),
    ]
    if view.get("allow") or view.get("forbid"):
        lines.append(f"  write set: allow {view.get('allow') or ['**']} forbid {view.get('forbid') or []}")
    if view.get("gates"):
        lines.append(f"  gates:    {'; '.join(view['gates'])}")
    lines += _stack_lines(view.get("stack"))
    lines.append("evidence:")
    lines += [f"  [{e['kind']}] {e['text']}" for e in view["evidence"]] or ["  (not observed yet: run `orch tick`)"]
    if sessions:
        lines.append("sessions:")
        for x in sessions:
            tok = (x.get("tokens") or {}).get("total_tokens")
            how = "" if x.get("observed", True) else " (inferred)"
            who = f"{x['agent']} subagent" if x.get("subagent") else x["agent"]
            lines.append(f"  {who} {(x['session_id'] or '?')[:13]} {x.get('state', '?')}{how}, last activity "
                         f"{x['last_activity'] or '?'}" + (f", {tok:,} tokens" if tok else "") + f": {x.get('text', '')}")
    if gate_runs:
        lines.append("gate runs (latest per gate; details: `orch review TASK`):")
        for r in gate_runs:
            result = "timed out" if r["timed_out"] else f"exit {r['exit_code']}"
            lines.append(f"  {r['gate']}: {result} in {(r['duration_ms'] or 0) / 1000:.1f}s on "
                         f"{(r['commit'] or '?')[:9]} at {r['at']}")
    if view.get("claims"):
        lines.append("claims (from the worker's last message):")
        lines += [f"  {c['verdict']}: {c['kind']} \"{c['text']}\" ({c.get('why', '')})" for c in view["claims"]]
    if misalignments:
        lines.append("misalignments:")
        lines += [f"  #{m['id']} {m['severity']} {m['category']} [{m['evidence_kind']}] {m['text']}"
                  + (f" (resolved {m['resolved_at']})" if m.get("resolved_at") else " (open)") for m in misalignments]
    lines.append("history:")
    for h in history:
        change = f"{h['from'] or '-'} → {h['to']}" if h["to"] else ""
        extra = " ".join(x for x in (change, f"({h['reason']})" if h["reason"] else "",
                                      redact(h["note"]) if h["note"] else "") if x)
        lines.append(f"  {h['at']} {h['kind']} {extra} [{h['actor']}]")
    if observations:
        lines.append("observations:")
        lines += [f"  {o['at']} tick {o['tick']}: {o['condition']} ({o['reason']})" for o in observations[:10]]
    out.print(runnable("\n".join(lines)), markup=False)


def _stack_lines(st: dict | None) -> list[str]:
    """The constraint stack given at dispatch: authority, rule files at base, constraints, instruction."""
    if not st:
        return []
    rules = st.get("rules") or {}
    files = rules.get("files") or []
    lines = [f"  authority: {st.get('authority') or 'commit'}" + (" (the default)" if st.get("authority_default") else ""),
             f"  rules at base: {', '.join(files[:8]) + (' …' if len(files) > 8 else '') if files else '(none)'}"
             + (f" (hash {rules['hash']})" if rules.get("hash") else "")]
    if rules.get("push"):
        lines.append(f"  rules tell the worker to push: {', '.join(rules['push'])}")
    lines += [f"  constraint: {c}" for c in st.get("constraints") or []]
    if st.get("instruction"):
        text = st["instruction"].strip().splitlines()
        lines.append(f"  instruction: {text[0]}")
        lines += [f"               {x}" for x in text[1:20]]
        if len(text) > 20:
            lines.append(f"               … ({len(text) - 20} more line(s))")
    return lines
