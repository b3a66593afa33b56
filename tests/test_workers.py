"""
Tests for C{twistd websocket --workers N}: the options, and a real
C{twistd -n websocket --workers 2} whose two workers serve one port, a
killed worker restarted, and SIGTERM ending all of them with 1001 on the
open connections.  Every wait is bounded.
"""

from __future__ import annotations

import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from twisted_ws.twistd import _workers

from ._support.redis import NO_REDIS, REDIS_SERVER, RedisServer
from ._support.scaling import join, parse, problems, readType, sayUntilHeard
from ._support.twistd import Twistd
from ._support.workers import WAIT_TIMEOUT, pidAppDirectory

try:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect
except ImportError:  # pragma: no cover - the test extra installs it
    connect = None  # type: ignore[assignment]


def _connector(port: int) -> Any:
    """
    A function of one (ignored) argument that opens a client to C{port},
    or returns L{None} when the connection is refused.
    """

    def tryConnect(_: int) -> Any:
        try:
            return connect(f"ws://127.0.0.1:{port}/ws", open_timeout=5)
        except OSError:
            return None

    return tryConnect


class WorkersOptionTests(SynchronousTestCase):
    """
    C{--workers} and C{workers} in the file.
    """

    def test_default(self) -> None:
        """
        One process by default; C{--workers} and the file's C{workers} set it,
        the command line winning.
        """
        self.assertEqual(parse()["server"].workers, 1)
        path = self.mktemp()
        with open(path, "w") as f:
            f.write('workers = 3\napp = "echo"\n')
        self.assertEqual(parse("--config", path)["server"].workers, 3)
        self.assertEqual(parse("--config", path, "--workers", "2")["server"].workers, 2)

    def test_bad(self) -> None:
        """
        A number of workers that is not a positive integer is one line.
        """
        for value in ("0", "two", "100000"):
            text = problems("--app", "echo", "--workers", value)
            self.assertIn("twistd websocket: --workers: expected a number of processes", text)

    def test_inProcessHub(self) -> None:
        """
        More than one worker with the chat on the in-process hub stops with
        a message that says to add --hub; echo (no hub) is fine, and so is
        the chat on Redis.
        """
        text = problems("--app", "chat", "--workers", "2")
        self.assertIn("--workers: 2 workers cannot share the in-process hub that 'chat' uses", text)
        self.assertIn("add --hub redis://", text)
        self.assertEqual(parse("--app", "echo", "--workers", "2")["server"].workers, 2)
        parse("--app", "chat", "--workers", "2", "--hub", "redis://127.0.0.1:1/0")

    def test_endpointKinds(self) -> None:
        """
        Only endpoints whose socket the parent can open are accepted with
        workers.
        """
        text = problems("--app", "echo", "--workers", "2", "--listen", "stdio:")
        self.assertIn("the workers can share tcp:, ssl: and unix: endpoints only", text)

    def test_websocketArguments(self) -> None:
        """
        The workers run with the arguments after C{websocket}.
        """
        self.assertEqual(_workers.websocketArguments(["twistd", "-n", "websocket", "--workers", "2"]),
                         ["--workers", "2"])
        self.assertRaises(SystemExit, _workers.websocketArguments, ["twistd", "-n"])


class WorkersTests(SynchronousTestCase):
    """
    A real C{twistd -n websocket --workers 2}.
    """

    def setUp(self) -> None:
        if connect is None:
            raise SkipTest("the websockets package is not installed (the test extra)")
        self.directory = pidAppDirectory(self)

    def workerPids(self, server: Twistd, count: int) -> set[int]:
        """
        Wait (bounded) until C{count} workers have started; their pids.
        """
        deadline = time.monotonic() + WAIT_TIMEOUT
        while time.monotonic() < deadline:
            pids = {int(p) for p in re.findall(r"worker \d+ started \(pid (\d+)\)", server.output)}
            if len(pids) >= count:
                return pids
            server._drain(0.2)
        raise AssertionError(f"{count} workers did not start:\n{server.output}")

    def waitFor(self, server: Twistd, pattern: str) -> None:
        """
        Wait (bounded) until the output of C{server} matches C{pattern}.
        """
        deadline = time.monotonic() + WAIT_TIMEOUT
        while not re.search(pattern, server.output):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in:\n{server.output}")
            server._drain(0.2)

    def pidsServing(self, port: int, want: set[int]) -> tuple[set[int], list[Any]]:
        """
        Connect until clients have landed on every process of C{want}
        (bounded); the pids seen and the open clients.
        """
        seen: set[int] = set()
        clients: list[Any] = []
        deadline = time.monotonic() + WAIT_TIMEOUT
        # Several at once, as in test_chatAcrossWorkers.
        with ThreadPoolExecutor(8) as pool:
            while not want <= seen and time.monotonic() < deadline and len(clients) <= 40:
                batch = [ws for ws in pool.map(_connector(port), range(8)) if ws is not None]
                if not batch:
                    time.sleep(0.2)
                clients.extend(batch)
                for ws in batch:
                    seen.add(int(ws.recv(timeout=5)))
        return seen, clients

    def test_twoWorkers(self) -> None:
        """
        Two workers serve one port, a killed worker is restarted and serves
        again, and SIGTERM to the parent closes every open connection with
        1001 and ends every process.
        """
        port = _freePort()
        server = Twistd(["--app", "pidapp:Pid", "--workers", "2", "--drain-timeout", "3",
                         "--listen", f"tcp:{port}:interface=127.0.0.1"], self.directory)
        self.addCleanup(server.stop)
        first = self.workerPids(server, 2)
        for pid in first:
            self.waitFor(server, rf"\[worker \d+ pid {pid} [^\]]*\] .*starting on {port}")
        seen, clients = self.pidsServing(port, first)
        self.assertEqual(seen, first)
        for ws in clients:
            ws.close()

        victim = sorted(first)[0]
        os.kill(victim, signal.SIGKILL)
        after = self.workerPids(server, 3)
        newPid = (after - first).pop()
        self.assertIn("ended (signal 9); restarting it", server.output)
        self.waitFor(server, rf"\[worker \d+ pid {newPid} [^\]]*\] .*starting on {port}")
        seen, clients = self.pidsServing(port, {newPid, *(first - {victim})})
        self.assertEqual(seen, {newPid, *(first - {victim})})

        # twistd ends with the signal it handled, after a clean shutdown.
        self.assertIn(server.stop(), (0, -signal.SIGTERM), server.output)
        self.assertIn("Server Shut Down", server.output)
        self.assertNotIn("Traceback", server.output)
        self.assertEqual(len(re.findall(r"worker \d+ \(pid \d+\) stopped", server.output)), 2)
        for ws in clients:
            try:
                while True:
                    ws.recv(timeout=5)
            except ConnectionClosed as e:
                self.assertEqual(e.rcvd.code if e.rcvd else None, 1001)
        for pid in after - {victim}:
            self.assertFalse(_alive(pid), f"worker {pid} is still running")


def _freePort() -> int:
    from ._support.redis import freePort

    return freePort()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class WorkersOnRedisTests(SynchronousTestCase):
    """
    The chat with C{--workers 2} on a Redis hub.
    """

    def setUp(self) -> None:
        if REDIS_SERVER is None:
            raise SkipTest(NO_REDIS)
        if connect is None:
            raise SkipTest("the websockets package is not installed (the test extra)")
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.redis = RedisServer(self.directory)
        self.redis.start()
        self.addCleanup(self.redis.stop)

    def workerOf(self, server: Twistd, ws: Any) -> int:
        """
        The worker (by number) that logged opening C{ws}'s connection.
        """
        port = ws.local_address[1]
        pattern = rf"\[worker (\d+) pid \d+ [^\]]*\] .*connection with 127\.0\.0\.1:{port} opened"
        deadline = time.monotonic() + WAIT_TIMEOUT
        while time.monotonic() < deadline:
            found = re.search(pattern, server.output)
            if found:
                return int(found.group(1))
            server._drain(0.1)
        raise AssertionError(f"no worker logged the connection from port {port}")

    def test_chatAcrossWorkers(self) -> None:
        """
        Clients on the two workers of one twistd chat across them through
        the Redis hub.
        """
        port = _freePort()
        server = Twistd(["--app", "chat", "--workers", "2", "--hub", self.redis.url,
                         "--log-openings", "--listen", f"tcp:{port}:interface=127.0.0.1"],
                        self.directory)
        self.addCleanup(server.stop)
        deadline = time.monotonic() + WAIT_TIMEOUT
        while len(re.findall(rf"\[worker \d+ pid \d+ [^\]]*\] .*starting on {port}", server.output)) < 2:
            if time.monotonic() > deadline:
                raise AssertionError(f"the workers did not listen:\n{server.output}")
            server._drain(0.2)
        byWorker: dict[int, Any] = {}
        opened: list[Any] = []

        # Several handshakes at once: one at a time, the worker that took
        # the last one may be back in its poll first every time and take
        # them all.
        deadline = time.monotonic() + WAIT_TIMEOUT
        with ThreadPoolExecutor(8) as pool:
            while len(byWorker) < 2 and time.monotonic() < deadline and len(opened) < 64:
                batch = [ws for ws in pool.map(_connector(port), range(8)) if ws is not None]
                if not batch:
                    time.sleep(0.2)
                opened.extend(batch)
                for ws in batch:
                    byWorker.setdefault(self.workerOf(server, ws), ws)
        self.assertEqual(sorted(byWorker), [1, 2])
        one, two = byWorker[1], byWorker[2]
        join(one, "one")
        self.assertEqual(join(two, "two")["users"], ["one", "two"])
        self.assertEqual(readType(one, "join")["name"], "two")
        self.assertEqual(sayUntilHeard(one, two, "from worker 1")["name"], "one")
        self.assertEqual(sayUntilHeard(two, one, "from worker 2")["name"], "two")
        for ws in opened:
            ws.close()

