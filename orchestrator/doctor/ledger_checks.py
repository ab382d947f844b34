"""`orch doctor`, the ledger side: git, config, ledger and migrations, schedule, recent ticks."""

from __future__ import annotations

import difflib
import re
import shlex
import shutil
import stat
import sys
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from orchestrator.settings import FILE_KEYS, load_settings
from orchestrator.ledger import describe, identity, migrate
from orchestrator.ledger.engine import make_engine, resolve_url, sqlite_path
from orchestrator.ledger import kv
from orchestrator.system.tickwatch import hung_tick_problem, tick_limit
from orchestrator.ledger.models import Tick
from orchestrator.doctor.base import MIN_GIT, Context, Finding, fail, ok, warn
from orchestrator.errors import UserError
from orchestrator.system.gitrun import run_git
from orchestrator.ledger.connect import Ledger, first_line, safe_url
from orchestrator.timeutil import as_utc, format_duration

# --- 1. git ---------------------------------------------------------------------------------

def check_git(ctx: Context) -> list[Finding]:
    res = run_git(ctx.paths.root, "--version", timeout=10)
    if not res.ok:
        return [fail("git", f"`git --version` failed: {res.error_line()}", "install git 2.38 or newer")]
    text = res.text().strip()
    m = re.search(r"(\d+)\.(\d+)", text)
    if not m:
        return [warn("git", f"cannot read the version from {text!r}", "install git 2.38 or newer")]
    version = (int(m.group(1)), int(m.group(2)))
    if version < MIN_GIT:
        return [warn("git", f"{text}: older than 2.38, so `orch review` cannot test merges (git merge-tree "
                            "--write-tree)", "upgrade git to 2.38 or newer")]
    return [ok("git", text)]


# --- 3. config (before the ledger: opening it reads the config) ------------------------------

def check_config(ctx: Context) -> list[Finding]:
    path = ctx.paths.config
    if not path.exists():
        ctx.settings = load_settings(path, ctx.env)
        return [ok("config", f"no {path}: defaults in use")]
    try:
        ctx.settings = load_settings(path, ctx.env)
    except UserError as exc:
        return [fail("config", str(exc), f"fix {path} (or move it aside and run `orch init`)")]
    known = list(FILE_KEYS)
    unknown = list(ctx.settings.extra)
    if not unknown:
        return [ok("config", f"{path} loads")]
    out = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            out.append(warn("config", f"unknown key {key!r} in {path} (did you mean {close[0]!r}?)",
                            f"rename {key} to {close[0]} in {path}"))
        else:
            out.append(warn("config", f"unknown key {key!r} in {path} (ignored)", f"remove {key} from {path}"))
    return out


# --- 2. ledger ------------------------------------------------------------------------------

def check_ledger(ctx: Context) -> list[Finding]:
    """Open the ledger without migrating it: initialised, reachable, migrations current, file mode 0600."""
    paths = ctx.paths
    if not paths.state.is_dir():
        return [fail("ledger", f"not initialised (no {paths.state})", "orch init")]
    if ctx.settings is None:
        return [fail("ledger", "not checked: config.toml does not load", f"fix {paths.config}")]
    try:
        url = resolve_url(ctx.db or ctx.env.get("ORCH_DB") or ctx.settings.db, paths.root)
    except UserError as exc:
        return [fail("ledger", str(exc), "set --db/ORCH_DB to sqlite:///PATH or postgresql+psycopg://…")]
    out: list[Finding] = []
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            return [fail("ledger", f"not initialised (no {path})", "orch init")]
        mode = stat.S_IMODE(path.stat().st_mode)  # before make_engine, which would fix it
        if mode != 0o600:
            out.append(warn("ledger.mode", f"{path} has mode {mode:04o}, readable by others",
                            f"chmod 600 {shlex.quote(str(path))}"))
        else:
            out.append(ok("ledger.mode", f"{path} has mode 0600"))
    try:
        if path is not None:  # read-only first: a file that is not orch's is not even set to WAL
            _not_a_ledger(identity.of_sqlite(path), url, paths.state)
        engine = make_engine(url)
        if path is None:
            try:
                _not_a_ledger(identity.of_engine(engine), url, paths.state)
            except UserError:
                engine.dispose()
                raise
        current = migrate.ledger_heads(engine)
        heads = migrate.code_heads()
    except UserError as exc:
        return [fail("ledger", str(exc), "orch init")] + out
    except (SQLAlchemyError, OSError) as exc:
        return [fail("ledger", f"cannot open {safe_url(url)}: {first_line(exc)}",
                     "check --db/ORCH_DB and that the database is reachable")] + out
    where = safe_url(url) if path is None else str(path)
    out.insert(0, ok("ledger", f"opens: {where}"))
    rev = ",".join(sorted(current)) or "none"
    head = ",".join(sorted(heads))
    if not current:
        out.append(fail("ledger.migrations", "the ledger has no schema", "orch init"))
    elif current == heads:
        out.append(ok("ledger.migrations", f"at head {head}"))
    else:
        try:
            migrate.needs_upgrade(engine)
        except UserError as exc:
            out.append(fail("ledger.migrations", str(exc), "pip install --upgrade orch"))
        else:
            out.append(warn("ledger.migrations", f"at {rev}, this orch has {head} (applied by the next orch command)",
                            "orch db upgrade"))
    if current != heads:  # the other checks read tables of the current schema
        out[-1].detail += " (schedule and tick not checked)"
        engine.dispose()
        return out
    ledger = Ledger(paths=paths, settings=ctx.settings, url=url, engine=engine)
    try:
        with ledger.session(readonly=True) as s:
            ctx.project_id = ledger.project(s).id
    except UserError as exc:
        out.append(fail("ledger", str(exc), "orch init"))
    except SQLAlchemyError as exc:
        out.append(fail("ledger", f"cannot read {where}: {first_line(exc)}", "orch db upgrade"))
    if ctx.project_id is None:
        engine.dispose()
        return out
    ctx.ledger = ledger
    return out


def _not_a_ledger(ident, url: str, state) -> None:  # noqa: ANN001
    if ident.kind != "orch":
        describe.check(ident, url, state, create=False)  # empty, foreign, damaged: its own line
        raise UserError(f"cannot open {describe.where(url)}: {ident.problem or 'not an orch ledger'}")


# --- 4. schedule and ticks --------------------------------------------------------------------

def default_scheduler() -> str:
    if sys.platform == "darwin":
        return "launchd"
    return "systemd" if shutil.which("systemctl") or sys.platform.startswith("linux") else "cron"


def _schedule_value(ctx: Context) -> dict:
    with ctx.ledger.session(readonly=True) as s:
        return kv.get(s, ctx.ledger.project(s), _host(ctx), "schedule")


def _host(ctx: Context) -> str:
    return ctx.settings.hostname if ctx.settings else ""


def check_ticks(ctx: Context) -> list[Finding]:
    if ctx.ledger is None:
        return []
    value = _schedule_value(ctx)
    host = _host(ctx)
    where = (Tick.project_id == ctx.project_id, Tick.host == host)
    with ctx.ledger.session(readonly=True) as s:
        last = s.scalars(select(Tick).where(*where, Tick.outcome == "ok").order_by(Tick.started_at.desc())
                         .limit(1)).first()
        since = ctx.now - timedelta(hours=24)
        failed = s.scalars(select(Tick).where(*where, Tick.outcome == "failed", Tick.started_at >= since)
                           .order_by(Tick.started_at.desc())).all()
        failed_count = len(failed)
        last_error = failed[0].error if failed else None
        last_at = as_utc(last.started_at) if last is not None else None
    restart = value.get("enable") or f"orch schedule {default_scheduler()} --install"
    out: list[Finding] = []
    if last_at is None:
        out.append(warn("tick", f"no tick yet on host {host}", "orch tick"))
    else:
        secs = value.get("seconds")  # the installed schedule's interval, else tick_interval
        interval = (timedelta(seconds=secs) if isinstance(secs, int) and secs > 0
                    else ctx.settings.tick_interval)
        age = ctx.now - last_at
        limit = interval + ctx.settings.tick_grace
        text = f"last tick {format_duration(age)} ago (expected every {format_duration(interval)})"
        if age > interval * 10:
            out.append(fail("tick", text + ": the scheduler or the machine stopped", restart))
        elif age > limit:
            out.append(warn("tick", text, restart))
        else:
            out.append(ok("tick", text))
    hung = hung_tick_problem(ctx.paths.state, tick_limit(ctx.settings))
    if hung:
        out.append(fail("tick.lock", hung, "kill the hung process; then look at `orch tick` by hand"))
    if failed_count:
        err = ((last_error or "").strip().splitlines() or ["no error recorded"])[0][:200]
        out.append(warn("tick.failures", f"{failed_count} failed tick(s) in the last 24h; last: {err}",
                        "orch tick (run it by hand to see the error)"))
    return out



