"""
A real C{redis-server} for tests: Debian's package (C{.ci/run} installs it),
started on a free loopback port with no persistence, in a directory of the
test's, and stopped at its end.  Every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from typing import Any

#: The redis-server binary, or L{None} if it is not installed.
REDIS_SERVER = shutil.which("redis-server")

#: Why the tests that need Redis skip without it.
NO_REDIS = "redis-server is not installed (apt-get install redis-server; .ci/run installs it)"

#: Seconds allowed for redis-server to start or stop.
START_TIMEOUT = 15.0


def freePort() -> int:
    """
    A TCP port on 127.0.0.1 that nothing listens on now.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """
    A C{redis-server} subprocess on 127.0.0.1, without persistence.

    @ivar port: its port, the same across restarts.
    """

    def __init__(self, directory: str, *extra: str, tls: tuple[str, str] | None = None) -> None:
        """
        @param extra: more arguments for C{redis-server}.
        @param tls: the paths of a key and certificate: serve TLS only.
        """
        self.directory = directory
        self.port = freePort()
        self.extra = extra
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/3"

    def start(self) -> None:
        """
        Start it and wait (bounded) until it answers PING.
        """
        assert REDIS_SERVER is not None
        log = open(os.path.join(self.directory, "redis.log"), "ab")
        ports = ["--port", str(self.port)]
        if self.tls is not None:
            key, cert = self.tls
            ports = ["--port", "0", "--tls-port", str(self.port), "--tls-key-file", key,
                     "--tls-cert-file", cert, "--tls-ca-cert-file", cert,
                     "--tls-auth-clients", "no"]
        self.process = subprocess.Popen(
            [REDIS_SERVER, *ports, "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.directory, *self.extra],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as plain:
                    s: Any = plain
                    if self.tls is not None:
                        context = ssl.create_default_context(cafile=self.tls[1])
                        s = context.wrap_socket(plain, server_hostname="localhost")
                    s.sendall(b"PING\r\n")
                    answer = s.recv(64)
                if answer.startswith((b"+PONG", b"-NOAUTH")):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        """
        Stop it (SIGTERM, then SIGKILL after a bounded wait).
        """
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(START_TIMEOUT)
