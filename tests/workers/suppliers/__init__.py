"""Supplier adapter tests: against the sandbox over real HTTP, a local peer, or files."""
