"""The README starts with the two commands a newcomer runs, and CI runs exactly its test command."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_install_and_test_commands():
    text = (ROOT / "README.md").read_text()
    assert text.index("```sh") < 20  # right after the title
    install, tests = readme_commands()
    assert "pip install" in install and "orch demo" in install
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    _, tests = readme_commands()
    assert tests in ci
    assert any("pip install" in line and ".[test]" in line for line in ci)


def loop_block() -> list[str]:
    """The commands of the README's "Use it on your repository" block (continuations joined); a comment line
    stays as it is: it marks what the worker does meanwhile."""
    text = (ROOT / "README.md").read_text().split("## Use it on your repository", 1)[1]
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    out, pending = [], ""
    for line in block.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    return [c for c in out if c.strip()]


def test_readme_loop_runs_as_written_and_stops_on_needs_work(tmp_path):
    """The README's loop on a scratch repository: a worker's branch that needs work is not merged; once fixed,
    review, merge and the next tick record `merged` with no `orch task set`, and cleanup removes the worktree."""
    import json
    import subprocess

    from conftest import _base_env

    env = _base_env(tmp_path)
    home = Path(env["HOME"])
    shop = home / "src" / "shop"
    shop.mkdir(parents=True)

    def sh(cmd: str, cwd: Path, expect: int = 0) -> subprocess.CompletedProcess:
        proc = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == expect, f"`{cmd}` exited {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    sh("git init -q -b main && echo shop > README.md && git add -A && git commit -qm initial", shop)
    commands = loop_block()
    assert commands[0].startswith("cd ~/src/shop")
    worker = home / "src" / "shop-T1"
    cwd = shop
    for cmd in commands[1:]:
        if cmd.lstrip().startswith("#"):  # the worker: its work, with a bug its own test catches
            (worker / "src" / "search").mkdir(parents=True)
            (worker / "src" / "search" / "index.py").write_text("def find(sku):\n    return sku.lower()\n")
            (worker / "src" / "search" / "test_index.py").write_text(
                "from index import find\n\n\ndef test_find():\n    assert find('A1') == 'A1'\n")
            sh("git add -A && git commit -qm 'search: SKU index'", worker)
            continue
        if cmd.startswith("orch review T1"):
            # needs-work (the gate fails): the line stops before the merge
            assert "verdict: needs-work" in sh(cmd, cwd, expect=3).stdout
            assert sh("git log --oneline main", shop).stdout.count("\n") == 1
            (worker / "src" / "search" / "index.py").write_text("def find(sku):\n    return sku\n")
            sh("git commit -qam 'search: keep the SKU as it is'", worker)
        sh(cmd, cwd)
    show = json.loads(sh("orch task show T1 --json", shop).stdout)["task"]
    assert (show["status"], show["condition"], show["merged"]) == ("cleaned", "done", True)
    assert show["decision"]["by"] == "tick" and show["decision"]["verified"] is True
    assert not worker.exists() and "feat/search" not in sh("git branch", shop).stdout
    assert "search: SKU index" in sh("git log --oneline main", shop).stdout
