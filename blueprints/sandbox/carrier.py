"""The sandbox carrier."""
