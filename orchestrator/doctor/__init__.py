"""`orch doctor`: a health check of the whole set-up, each finding with its fix."""
