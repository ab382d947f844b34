"""Allow `python -m orchestrator` as well as the `orch` console script."""

from orchestrator.entry import main

main()
