"""The call queue, the call card and an agent's outcome (the call screen's hot path)."""
