"""Benchmarks: the data generator, the load runner and the report (`make bench`)."""

import os

# config.py writes instance/secret_key when SECRET_KEY is unset; benchmarks leave instance/ alone.
os.environ.setdefault("SECRET_KEY", "codboard-bench-not-a-secret")
