"""`orch` run inside the test process, for tests that patch orch itself: a thin wrapper over `Repo.orch`."""

from __future__ import annotations


def cli(monkeypatch, capsys, r, *args) -> tuple[int, str, str]:
    """Run `orch ARGS` in `r.root` with `r.env` (in-process, as every `Repo.orch` call): exit code, stdout, stderr."""
    proc = r.orch(*args, check=False, process=False)
    return proc.returncode, proc.stdout, proc.stderr
