"""The `orch` command line: a thin Typer layer over the pipeline; errors are one line, never a traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from orchestrator import __version__
from orchestrator.cli.common import Globals, err
from orchestrator.errors import InternalError, UserError

app = typer.Typer(
    name="orch",
    help="Heartbeat job runner for AI coding agents working in parallel git worktrees.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"orch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    repo: Optional[Path] = typer.Option(None, "--repo", help="Any worktree of the repository (default: the current directory)."),
    db: Optional[str] = typer.Option(None, "--db", help="Ledger URL (default: $ORCH_DB, else sqlite:///.orch/ledger.db)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """orch keeps the durable truth about your workers: run `orch init`, `orch dispatch`, then `orch tick`."""
    ctx.obj = Globals(repo=repo, db=db)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from orchestrator.cli import core  # noqa: F401

    for name in ("task", "db", "sessions", "hooks", "watch", "schedule", "doctor", "review", "skill", "importer", "package", "history", "trust", "brief", "prune"):
        try:
            __import__(f"orchestrator.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"orchestrator.cli.{name}":
                raise


_register()


def _is_ledger_error(exc: BaseException) -> bool:
    """A SQLAlchemy error, told without importing SQLAlchemy (a command that never loaded it raised none)."""
    exc_mod = sys.modules.get("sqlalchemy.exc")
    return exc_mod is not None and isinstance(exc, exc_mod.SQLAlchemyError)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn every failure into one line and an exit code."""
    from typer._click import exceptions as click_errors

    command = None
    try:
        from orchestrator.cli.conventions import tidy, usage_line

        command = typer.main.get_command(app)
        tidy(command)  # metavars, [a|b|c] choices and exit codes in every --help
        # Not standalone: Click's usage errors (missing argument, bad option, bad choice) come here, so that
        # they read like every other orch error: one line with the hint, exit 2.
        code = command.main(args=argv, prog_name="orch", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click_errors.NoArgsIsHelpError as exc:  # `orch`, `orch task`: the help, as Click shows it
        exc.show()
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:
        from orchestrator.cli.hints import runnable

        err.print(f"orch: {runnable(usage_line(exc, command, argv))}", markup=False)
        sys.exit(2)
    except click_errors.ClickException as exc:
        err.print(f"orch: {' '.join(exc.format_message().split())}", markup=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("orch: aborted", markup=False)
        sys.exit(1)
    except UserError as exc:
        from orchestrator.cli.hints import runnable

        err.print(f"orch: {runnable(str(exc))}", markup=False)
        sys.exit(2)
    except InternalError as exc:
        err.print(f"orch: {exc}", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("orch: interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        if _is_ledger_error(exc):
            from orchestrator.ledger.describe import last_opened_error

            err.print(f"orch: {last_opened_error(exc)}", markup=False)
            sys.exit(1)
        if os.environ.get("ORCH_DEBUG"):
            raise
        err.print(f"orch: internal error: {type(exc).__name__}: {exc} (set ORCH_DEBUG=1 for details)", markup=False)
        sys.exit(1)
