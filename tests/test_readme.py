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
