"""`orch init --templates`: starter files for the orchestrator (policy, packages, project map); never overwritten."""

from __future__ import annotations

from pathlib import Path

POLICY = """\
# Orchestration policy

The orchestrator (a person or an agent running the skill) reads this before dispatching. Edit it: it is yours.

## One lane at a time

- Work in feature packages (`orch package add NAME --goal TEXT --accept CMD --spec FILE`).
- Dispatch workers into the active lane only (`orch package switch NAME --reason TEXT` chooses it).
- Spare slots are not a reason to start unrelated work. Leaving the lane while it has running workers needs
  `orch dispatch ... --switch-reason TEXT`; a switch without a reason is recorded as package drift.
- A package closes when its tasks are merged and its acceptance gates pass on the integration branch
  (`orch package accept NAME --run`, then `orch package close NAME`).
- At a package boundary, hand a review pack to a second reviewer (`orch package pack NAME --out DIR`) and record
  the answer (`orch package review-import NAME --reviewer R --file F --status passed|failed`).

## Serialized areas

At most one worker at a time may change these; never dispatch two tasks whose write sets overlap here:

- migrations (database schema changes, e.g. `migrations/**`, `alembic/versions/**`)
- shared contracts (public APIs, schemas, protocol and interface files other code depends on)
- payments (billing, checkout, anything that moves money)
- deploys (CI/CD pipelines, infrastructure, release scripts)

Give every worker a write set (`--allow` / `--forbid`) that keeps it out of serialized areas it does not own.

## Evidence labels

Say how each claim was checked; `orch review` labels its checklist the same way:

- `direct`: checked on the thing itself, now (the branch's commits and diff, a gate run on the reviewed commit).
- `proxy`: inferred from something near it (a gate run on an older commit or another host, a worker's report).
- `local`: observed on this machine only (a local gate run, not CI or production).
- `blocked`: could not be checked (missing worktree, another host, a tool absent); say so, never guess.
"""

PACKAGES_README = """\
# Feature packages

One file per package, `NAME.md`: the spec `orch package add NAME --spec FILE` keeps here (or write it here
first; `orch package add NAME --goal TEXT` picks it up).

A spec says:

- **Goal**: what the package delivers, in a sentence.
- **Scope**: the tasks it needs, each small enough for one worker, with its write set.
- **Out of scope**: what waits for another package.
- **Acceptance**: the commands that must pass on the integration branch (`--accept CMD`, repeatable).
- **Serialized areas touched**: migrations, shared contracts, payments, deploys (see ../policy.md).

Commands: `orch package list`, `orch package show NAME`, `orch package accept NAME --run`,
`orch package pack NAME --out DIR`, `orch package close NAME`.
"""

PROJECT_MAP = """\
# Project map

A short map for workers and reviewers; keep it current.

## Areas

| area | paths | notes (owner, serialized?) |
|------|-------|----------------------------|
| example | `src/example/**` | |

## How to build and test

- build:
- fast tests:
- full tests:

## Serialized paths

See policy.md: migrations, shared contracts, payments, deploys; list their paths here.
"""

STARTERS = {"policy.md": POLICY, "packages/README.md": PACKAGES_README, "project-map.md": PROJECT_MAP}


def write_starters(state: Path) -> list[dict]:
    """Write each starter under `state` (.orch/) unless a file is there already; say which were written."""
    out = []
    for rel, text in STARTERS.items():
        path = state / rel
        if path.exists():
            out.append({"path": str(path), "written": False})
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        out.append({"path": str(path), "written": True})
    return out
