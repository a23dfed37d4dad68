"""Carrier webhooks: verify on the raw body, store once per delivery id, answer fast."""
