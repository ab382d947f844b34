"""Exceptions that the CLI turns into one clear line and an exit code."""


class UserError(Exception):
    """Bad input or usage: printed as one line on stderr, exit code 2."""

    exit_code = 2


class InternalError(Exception):
    """Something orch itself could not do: one line on stderr, exit code 1."""

    exit_code = 1
