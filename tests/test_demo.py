"""`orch demo` shows a newcomer a real report from one command."""


def test_demo_builds_workers_in_every_state(tmp_path, env):
    import subprocess

    from conftest import ORCH

    target = tmp_path / "demo"
    proc = subprocess.run([ORCH, "demo", str(target)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "# orch: blocked (shop)" in proc.stdout
    for line in ("**T4** blocked (branch-mismatch)", "**T3** stuck (no-progress)", "**T1** finished (committed-clean)"):
        assert line in proc.stdout
    status = subprocess.run([ORCH, "status", "--json"], cwd=target / "shop", env=env, capture_output=True,
                            text=True, timeout=60)
    conds = {t["id"]: t["condition"] for t in __import__("json").loads(status.stdout)["tasks"]}
    assert conds == {"T1": "finished", "T2": "working", "T3": "stuck", "T4": "blocked", "T5": "setup-pending"}
    busy = next(t for t in __import__("json").loads(status.stdout)["tasks"] if t["id"] == "T2")
    assert busy["reason"] == "agent-running" and busy["evidence"][0]["kind"] == "hook"  # the agent's own word
    again = subprocess.run([ORCH, "demo", str(target)], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "not empty" in again.stderr
