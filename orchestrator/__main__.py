"""Allow `python -m orchestrator` as well as the `orch` console script."""

from orchestrator.cli import main

main()
