"""Dropship: supplier orders, their one door, checks and queries."""
