"""Intake: orders arriving from every door, routed to warehouses, and news back to channels."""
