"""The web console and API (issue 16)."""
