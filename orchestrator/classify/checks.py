"""Check commands (tests, lint, build) in a shell line, whether their exit code can be trusted, what their output says.

Three tables, extended in place:
  CHECK_COMMANDS  which commands run which kind of check (matched after wrappers like `cd X &&`, `uv run`);
  OUTPUT_SAYS     what a check's output says when its exit code cannot be trusted or is not in the log;
  a check piped into another command (`pytest | tail -3`), followed by `|| true` or `; echo …`, or sent to the
  background (`&`) exits with the status of something else: its exit code is unknown, its output decides.
"""

from __future__ import annotations

import re

CHECK_COMMANDS: list[tuple[str, re.Pattern]] = [
    ("tests", re.compile(r"^(?:pytest|py\.test|tox|nox|unittest|jest|vitest|mocha|rspec|phpunit|ctest|"
                         r"(?:npm|pnpm|yarn|bun)(?: run)? test|go test|cargo test|cargo nextest|mix test|"
                         r"make (?:test|check)|\./gradlew test|gradle test|mvn test|dotnet test|deno test|"
                         r"rake test|bundle exec rspec|bun test|playwright test)\b")),
    ("lint", re.compile(r"^(?:ruff|flake8|pylint|mypy|pyright|eslint|tslint|golangci-lint|cargo clippy|"
                        r"mix credo|rubocop|shellcheck|prettier --check|(?:npm|pnpm|yarn|bun)(?: run)? "
                        r"(?:lint|typecheck)|make lint|tsc --noEmit|mix format --check-formatted)\b")),
    ("build", re.compile(r"^(?:(?:npm|pnpm|yarn|bun)(?: run)? build|cargo build|go build|mix compile|tsc|"
                         r"make|\./gradlew build|gradle build|mvn (?:package|compile)|dotnet build|"
                         r"vite build|webpack)\b")),
]

# What a check's output says, first match wins: ("fail" | "pass", pattern). Counts of zero never fail.
OUTPUT_SAYS: list[tuple[str, re.Pattern]] = [
    ("fail", re.compile(r"\b[1-9]\d* (?:failed|failing|failures?|errors?)\b", re.I)),      # pytest, mocha, mix, jest
    ("fail", re.compile(r"^FAILED\b|\bFAILED \(|test result: FAILED|^FAIL\b|^--- FAIL|BUILD FAILED|"
                        r"^ERRORS!|^npm ERR!|^error(?:\[E\d+\])?:|\berror TS\d+:|^Tests?:.*\b[1-9]\d* failed", re.M)),
    ("pass", re.compile(r"\b\d+ passed\b|\b\d+ passing\b|\b0 (?:failed|failures?|errors?)\b|^OK\b|"
                        r"test result: ok|^ok\s+\S+|^Tests?:\s+\d+ passed|\bAll tests passed\b|"
                        r"^PASS\b|Compiled successfully|Build succeeded|Found 0 errors|All checks passed|"
                        r"\bfound no issues\b|^Success: no issues found", re.M)),       # credo, mypy
]

_SEGMENT = re.compile(r"&&|\|\||;|\||\n")
_OPERATOR = re.compile(r"(\|\||&&|;|\||\n|(?<![<>])&(?![&>]))")  # `2>&1`, `>&2`, `&>f` are redirections
_WRAPPER = re.compile(r"^(?:(?:[A-Za-z_][A-Za-z0-9_]*=\S*|env|time|timeout \d+[smh]?|uv run|poetry run|pdm run|"
                      r"pipenv run|npx|pnpm exec|bunx|bundle exec|(?:\S*/)?python3?(?:\.\d+)? -m|sudo)\s+)+")


def _bare(segment: str) -> str:
    seg = _WRAPPER.sub("", segment.strip().strip("()")).strip()
    return re.sub(r"^(?:\S*/)?(?:\.venv|venv|node_modules)/\S*bin/", "", seg)


def check_kind(cmd: str) -> str | None:
    """tests, lint or build when a shell command runs that kind of check, else None."""
    for seg in _SEGMENT.split(cmd):
        seg = _bare(seg)
        for kind, pat in CHECK_COMMANDS:
            if pat.search(seg):
                return kind
    return None


def exit_trusted(cmd: str) -> bool:
    """False when the shell line's exit status is not the check's: piped on, `|| …`, `; …` after it, or `&`."""
    parts = _OPERATOR.split(cmd)
    for i in range(0, len(parts), 2):
        if not any(pat.search(_bare(parts[i])) for _, pat in CHECK_COMMANDS):
            continue
        rest = parts[i + 1::2]  # the operators after the check
        if not rest:
            return True
        if rest[0] == "|":
            return "pipefail" in cmd
        return all(op == "&&" for op in rest)
    return True


def output_says(text: str | None) -> str | None:
    """pass, fail, or None when the output names no result (read from its last 20,000 characters)."""
    if not text:
        return None
    tail = text[-20000:]
    for verdict, pat in OUTPUT_SAYS:
        if pat.search(tail):
            return verdict
    return None
