"""Adverse events: what went wrong after a session, how it ended, what the regulator was told."""
