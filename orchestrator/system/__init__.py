"""How orch touches the machine safely: atomic no-follow files, process groups, git, packaged data."""
