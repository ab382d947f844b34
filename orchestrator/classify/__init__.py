"""The pure classifier: evidence and thresholds in, one verdict per task out (no I/O, no clock)."""
