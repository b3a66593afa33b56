"""
Running the real C{twistd websocket} in a subprocess, with every wait
bounded.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import twisted_ws

#: The source tree holding twisted_ws and twisted/plugins.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(twisted_ws.__file__)))

#: Seconds allowed for twistd to start listening, and to stop.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
#: Seconds allowed for one network operation of a client.
IO_TIMEOUT = 10.0


def twistdCommand() -> list[str]:
    """
    The command that runs C{twistd} with the interpreter running the tests.
    """
    script = os.path.join(os.path.dirname(sys.executable), "twistd")
    if os.path.exists(script):
        return [sys.executable, script]
    return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


def twistdEnvironment() -> dict[str, str]:
    """
    The environment of C{twistd}: the source tree first on the path, so that
    the plugin and library under test are the ones found.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Twistd:
    """
    A C{twistd -n websocket} process and its output.

    @ivar process: the L{subprocess.Popen}.
    @ivar lines: every line it printed so far.
    """

    def __init__(self, args: list[str], cwd: str) -> None:
        self.lines: list[str] = []
        self._ended = False
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [*twistdCommand(), "-n", "--pidfile=", "--logfile=-", "websocket", *args],
            cwd=cwd,
            env=twistdEnvironment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def _drain(self, timeout: float) -> bool:
        """
        Collect output for at most C{timeout} seconds; return C{False} at
        the end of the output.
        """
        if self._ended:
            return False
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            return True
        if line is None:
            self._ended = True
            return False
        self.lines.append(line)
        return True

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def waitForPorts(self, count: int = 1) -> list[int]:
        """
        Wait until the process says it listens on C{count} ports and return
        them.
        """
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            ports = [int(p) for p in re.findall(r" starting on (\d+)", self.output)]
            if len(ports) >= count:
                return ports
            if not self._drain(0.2):
                break
        self.stop()
        raise AssertionError(f"twistd did not start listening:\n{self.output}")

    def waitForExit(self, timeout: float = STOP_TIMEOUT) -> int:
        """
        Wait for the process to end by itself; return its exit status.
        """
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)
            raise AssertionError(f"twistd did not exit:\n{self.output}") from None
        deadline = time.monotonic() + STOP_TIMEOUT
        while self._drain(1.0) and time.monotonic() < deadline:
            pass
        return code

    def stop(self) -> int:
        """
        Send SIGTERM and wait for the process to end; return its exit status.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.waitForExit()
