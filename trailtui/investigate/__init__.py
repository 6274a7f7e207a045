"""Investigations: an instance's history, who really did it (identity), log file integrity."""
