"""`orch` run inside the test process: for a test that patches orch itself, or that makes many quick calls."""

from __future__ import annotations

import pytest


def cli(monkeypatch, capsys, r, *args) -> tuple[int, str, str]:
    """Run `orch ARGS` in `r.root` with `r.env`: exit code, stdout, stderr."""
    from orchestrator.cli import main

    import os

    for key in list(os.environ):
        if key not in r.env:
            monkeypatch.delenv(key)
    for key, value in r.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(r.root)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main([str(a) for a in args])
    got = capsys.readouterr()
    return exit_.value.code or 0, got.out, got.err
