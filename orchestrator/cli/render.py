"""Human output for the terminal: task tables and details (untrusted text is never markup)."""

from __future__ import annotations

from orchestrator.cli.common import out
from orchestrator.cli.hints import runnable
from orchestrator.cli.terminal import COND_STYLE, one_line, use_colour
from orchestrator.redact import redact


def print_task_list(views: list[dict]) -> None:
    """The task table in a terminal: one line per task, fitted to the width (cli/layout.py): a title column when
    there is room, evidence cut at a word, a condition name never cut."""
    from orchestrator.cli.layout import Column, Table

    if not views:
        out.print(runnable("No tasks. Record one with `orch dispatch TASK --branch B`."), markup=False)
        return
    table = Table([Column("task"), Column("title", flex=True, min=12, cap=40), Column("status"), Column("condition"),
                   Column("for"), Column("next action"), Column("evidence", flex=True, min=16)],
                  drop=("next action", "title", "for", "status", "evidence"))
    for v in views:
        ev = v["evidence"][0] if v["evidence"] else None
        table.add_row(one_line(v["id"], 64), one_line(v.get("title") or "", 200), v["status"],
                      (v["condition"], COND_STYLE.get(v["condition"])), v["for"] or "", v["next_action"],
                      one_line(f"{ev['kind']}: {ev['text']}", 300) if ev else "")
    print_table(table, "orch task list --json")


def print_table(table, json_command: str) -> None:
    """A table fitted to the terminal, with a note naming the columns it left out and where to find them all."""
    from orchestrator.cli.layout import terminal_width, wrap

    width = terminal_width()
    lines = table.lines(width, colour=use_colour())
    if table.left_out:
        lines += wrap("", runnable(f"(left out at {width} columns: {', '.join(table.left_out)}; "
                                   f"`{json_command}` has all)"), width, indent=1)
    out.print_ansi("\n".join(lines))


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
    d = view.get("decision") or {}
    if d.get("status") == "merged" and d.get("git"):
        lines.append(f"  merged:   {'verified' if d.get('verified') else 'UNVERIFIED'} by {d.get('by', '?')}: git shows {d['git']}")
    if view.get("allow") or view.get("forbid"):
        lines.append(f"  write set: allow {view.get('allow') or ['**']} forbid {view.get('forbid') or []}")
    if view.get("gates"):
        lines.append(f"  gates:    {'; '.join(view['gates'])}")
    lines += _stack_lines(view.get("stack"))
    lines += budget_lines(view)
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


def budget_lines(view: dict) -> list[str]:
    """Budgets (with what the last tick saw used), acceptance criteria, and the brief the worker was given."""
    b = view.get("budget") or {}
    parts = []
    for name, part, label in (("max_runtime", "runtime", "runtime"), ("review_budget", "review", "review")):
        if b.get(name):
            used = f" (used {b[f'{part}_used']}{': over' if b.get('over') == part else ''})" if b.get(f"{part}_used") else ""
            parts.append(f"{label} {b[name]}{used}")
    lines = [f"  budgets:  {'; '.join(parts) if parts else 'none'}"]
    lines += [f"  accept:   {redact(a)}" for a in view.get("accept") or []]
    br = view.get("brief")
    if br is None:
        lines.append(f"  brief:    never printed (`orch brief {view['id']}`)")
    elif br["stale"]:
        lines.append(f"  brief:    {br['hash']} at {br['at']}: the worker was briefed on an older version "
                     f"({', '.join(br['changed'])} changed since); `orch brief {view['id']}` prints the current one")
    else:
        lines.append(f"  brief:    {br['hash']} at {br['at']} (current)")
    return lines
