"""`orch package pack`: a deterministic, redacted review pack of one package for a second reviewer."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator import bounded
from orchestrator.errors import UserError
from orchestrator.redact import redact
from orchestrator.system.gitrun import run_git

DIFF_LIMIT = 256 * 1024
PACK_FILES = ("README.md", "pack.json")


def _open_misalignments(s, proj, task) -> list[dict]:
    """The task's open misalignments (orchestrator/ledger/misalign.py)."""
    from orchestrator.ledger import misalign

    return misalign.list_items(s, proj, open_only=True, task=task)


def _diff(root: str, base: str | None, head: str | None, limit: int, timeout: float) -> dict:
    """The full diff base..head, redacted, cut to `limit` bytes on a line boundary with a note when cut."""
    if not base or not head:
        return {"text": None, "bytes": 0, "cut": False, "note": "no diff: the branch or its base is missing"}
    res = run_git(root, "diff", "--no-ext-diff", "--no-color", "--no-textconv", "-M", base, head, timeout=timeout)
    if not res.ok:
        return {"text": None, "bytes": 0, "cut": False, "note": f"git diff failed: {res.error_line()}"}
    text = redact(res.stdout.decode("utf-8", "replace"))
    raw = text.encode()
    if len(raw) <= limit:
        return {"text": text, "bytes": len(raw), "cut": False, "note": None}
    kept = raw[:limit].decode("utf-8", "ignore")
    if "\n" in kept:
        kept = kept[: kept.rfind("\n") + 1]
    note = (f"diff cut at {len(kept.encode())} of {len(raw)} bytes; the rest: "
            f"git diff {base[:12]} {head[:12]}")
    return {"text": kept + f"\n[… {note}]\n", "bytes": len(raw), "cut": True, "note": note}


def _diffstat(root: str, base: str | None, head: str | None, timeout: float) -> str | None:
    if not base or not head:
        return None
    res = run_git(root, "diff", "--no-ext-diff", "--no-color", "-M", "--stat=100,70", base, head, timeout=timeout)
    return redact(res.text().rstrip("\n")) if res.ok else None


def build(ledger, name: str, limit: int = DIFF_LIMIT) -> tuple[dict, dict[str, str]]:
    """The pack's facts (pack.json) and its files, by relative path. No clock: the same ledger and repository
    give the same bytes."""
    from orchestrator.ledger import packages as pk
    from orchestrator.review.package_review import integration_state, task_review

    root = str(ledger.paths.root)
    timeout = max(ledger.settings.git_timeout.total_seconds(), 30.0)
    integ = integration_state(root, timeout)
    files: dict[str, str] = {}
    with ledger.session(readonly=True) as s:
        proj = ledger.project(s)
        pkg = pk.get(s, proj, name)
        st = pk.status(s, proj, pkg, integ.head)
        spec_text = None
        if pkg.spec and (ledger.paths.root / pkg.spec).is_file():
            spec_text = redact((ledger.paths.root / pkg.spec).read_text(encoding="utf-8", errors="replace"))
        tasks = []
        for t in pk.package_tasks(s, proj, name):
            r = task_review(s, proj, t, ledger.settings.hostname, root, timeout)
            d = _diff(root, r["base"], r["head"], limit, timeout)
            diff_file = None
            if d["text"] is not None:
                diff_file = f"diffs/{t.key}.diff"
                files[diff_file] = d["text"]
            r.update(title=redact(t.title) if t.title else None, diffstat=_diffstat(root, r["base"], r["head"], timeout),
                     diff={"file": diff_file, "bytes": d["bytes"], "cut": d["cut"], "note": d["note"]},
                     misalignments=_open_misalignments(s, proj, t))
            tasks.append(r)
        switches = pk.switch_dicts(s, proj, name, limit=50)
    facts = {"schema": 1, "kind": "package-pack",
             "package": {k: st[k] for k in ("name", "goal", "status", "active", "spec", "accept", "created_at",
                                             "closed_at", "close_note")},
             "spec": spec_text,
             "integration": {"branch": integ.branch, "head": integ.head, **bounded.field("dirty", integ.dirty),
                             "default_branch": proj.default_branch},
             "gates": st["gates"], "reviews": st["reviews"], "blocks_close": st["blocks_close"],
             "lane_switches": switches, "tasks": tasks, "diff_limit": limit}
    facts = _redacted(json.loads(json.dumps(facts, default=str)))
    files["pack.json"] = json.dumps(facts, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    files["README.md"] = readme(facts)
    return facts, files


def _redacted(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    return value


def _gate_line(g: dict) -> str:
    run = g.get("last_run") or {}
    if not run:
        return f"- `{g['gate']}`: never run (`orch package accept NAME --run`)"
    how = "timed out" if run["timed_out"] else f"exit {run['exit_code']}"
    return (f"- `{g['gate']}`: **{g['state']}** ({how} in {run['duration_ms'] / 1000:.1f}s) on "
            f"{(run['commit'] or '?')[:9]} ({run.get('branch') or 'detached'}), host {run['host']}, {run['started_at']}")


def readme(f: dict) -> str:
    p = f["package"]
    integ = f["integration"]
    out = [f"# Review pack: {p['name']}", "", f"**Goal:** {p['goal']}", "",
           f"- status: {p['status']}{' (the active lane)' if p['active'] else ''}",
           f"- integration checkout: {integ['branch'] or 'detached'} at {(integ['head'] or '?')[:12]}"
           + (f" ({integ['dirty_count']} uncommitted change(s))" if integ["dirty"] else ""),
           f"- tasks: {len(f['tasks'])}; merged: {sum(1 for t in f['tasks'] if t['merged'])}", "",
           "## How to review", "",
           "Read the spec and each task's diff in `diffs/`; check the claims below against the code. Write your",
           "findings to a file and record them with",
           f"`orch package review-import {p['name']} --reviewer YOU --file FINDINGS.md --status passed|failed`.", "",
           "## Spec", ""]
    out += [f["spec"].rstrip("\n"), ""] if f["spec"] else ["_No spec recorded._", ""]
    out += ["## Acceptance gates (integration checkout)", ""]
    out += [_gate_line(g) for g in f["gates"]] or ["- none recorded"]
    out += ["", "## What still blocks closing", ""]
    out += [f"- {b}" for b in f["blocks_close"]] or ["- nothing"]
    out += ["", "## Outside reviews", ""]
    out += [f"- {r['at']} {r['reviewer']}: **{r['status']}** — {r.get('summary') or ''}".rstrip(" —")
            for r in f["reviews"]] or ["- none yet"]
    out += ["", "## Lane switches", ""]
    out += [f"- {w['at']} {w['from'] or '(none)'} → {w['to'] or '(none)'}: "
            + (w["reason"] or "**no reason given (package-drift)**") for w in f["lane_switches"]] or ["- none"]
    out += ["", "## Tasks", ""]
    for t in f["tasks"]:
        out += _task_section(t)
    return "\n".join(out).rstrip("\n") + "\n"


def _task_section(t: dict) -> list[str]:
    out = [f"### {t['task']}" + (f": {t['title']}" if t.get("title") else ""), "",
           f"- branch {t['branch']}, status {t['status']}, {t['group']}; merged: {'yes' if t['merged'] else 'no'}",
           f"- base {(t['base'] or '?')[:12]}, head {(t['head'] or 'missing')[:12]}",
           f"- review checklist: **{t['verdict']}**"]
    for i in t["items"]:
        out.append(f"  - [{i['status']}] {i['evidence']}: {i['name']}: {i['detail']}")
    out.append("- commits:" if t["commits"] else "- commits: none found")
    out += [f"  - {c['short']} {c['subject']}" for c in t["commits"]]
    if t["diffstat"]:
        out += ["- diffstat:", "", "```", t["diffstat"], "```", ""]
    runs = t["gate_runs"]
    out.append("- task gates: " + ("; ".join(
        f"`{r['gate']}` {'pass' if r['exit_code'] == 0 and not r['timed_out'] else 'fail'} on {(r['commit'] or '?')[:9]}"
        for r in runs) if runs else "none run"))
    d = t["diff"]
    if d["file"]:
        out.append(f"- diff: `{d['file']}` ({d['bytes']} bytes)" + (f" — **cut**: {d['note']}" if d["cut"] else ""))
    else:
        out.append(f"- diff: {d['note']}")
    m = t["misalignments"]
    out.append("- open misalignments: " + ("not available in this ledger" if m is None else
                                          ("none" if not m else "; ".join(str(x.get("category", x)) for x in m))))
    out.append("")
    return out


def write(out_dir: Path, files: dict[str, str], force: bool) -> list[str]:
    """Write the pack into `out_dir` (new or empty, or --force: replace an earlier pack's files)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir} is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not force:
            raise UserError(f"{out_dir} is not empty: choose a new folder, or pass --force to replace a pack there")
        for name in PACK_FILES:
            (out_dir / name).unlink(missing_ok=True)
        diffs = out_dir / "diffs"
        if diffs.is_dir():
            for p in diffs.glob("*.diff"):
                p.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for rel in sorted(files):
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[rel], encoding="utf-8")
        written.append(rel)
    return written
