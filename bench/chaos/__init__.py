"""The chaos run (`make chaos`): real traffic through two web servers and two RQ workers
while workers are SIGKILLed, Redis restarts empty and webhooks are replayed; then the
faults stop, reconcile drains the work and the invariants are checked (RELIABILITY.md)."""
