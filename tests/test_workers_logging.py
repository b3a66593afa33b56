"""
Tests for what the workers of C{twistd websocket --workers N} get of
twistd's own options, and for their logs: every worker's events reach the
parent's log (its C{--logfile}, or its JSON lines with C{--log-format
json}), each marked with the worker, and no pid file is shared.  Every wait
is bounded.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from typing import Any, cast

from twisted.logger import ILogObserver, Logger, eventAsJSON, globalLogPublisher
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from twisted_ws.twistd import _workers

from ._support.redis import freePort
from ._support.twistd import STOP_TIMEOUT, Twistd, twistdCommand, twistdEnvironment
from ._support.workers import WAIT_TIMEOUT, pidAppDirectory

try:
    from websockets.sync.client import connect
except ImportError:  # pragma: no cover - the test extra installs it
    connect = None  # type: ignore[assignment]


class WorkerArgumentsTests(SynchronousTestCase):
    """
    The command line a worker runs with.
    """

    def test_twistdOptions(self) -> None:
        """
        A worker gets the parent's reactor and umask, and never its log
        file, syslog, logger, pid file or daemon options: it runs in the
        foreground logging to the pipe to the parent, with no pid file.
        """
        base = ["-n", "--pidfile=", "--logfile=-"]
        self.assertEqual(_workers.twistdArguments(None), base)
        parent = {"reactor": "poll", "umask": 0o027, "logfile": "/var/log/ws.log",
                  "pidfile": "/run/ws.pid", "syslog": True, "prefix": "ws", "logger": "x.y",
                  "nodaemon": False, "chroot": None, "uid": 1000, "gid": 1000}
        self.assertEqual(_workers.twistdArguments(parent), [*base, "--reactor=poll", "--umask=0027"])
        self.assertEqual(_workers.twistdArguments({"reactor": None, "umask": None}), base)

    def test_workerArguments(self) -> None:
        """
        After twistd's options come C{websocket}, the parent's own
        arguments, and C{--log-format json}, last so that it wins, for the
        pipe.
        """
        from ._support.scaling import parse

        config = parse("--app", "echo", "--workers", "2", "--log-format", "text")["server"]
        argv = ["twistd", "-n", "-l", "ws.log", "--pidfile", "ws.pid", "websocket", "--app", "echo",
                "--workers", "2", "--log-format", "text"]
        workers = _workers.WorkersService(config, None, argv, {"reactor": "poll", "umask": None})
        self.assertEqual(workers.workerArguments(),
                         ["-n", "--pidfile=", "--logfile=-", "--reactor=poll", "websocket",
                          "--app", "echo", "--workers", "2", "--log-format", "text",
                          "--log-format", "json"])


class RelayTests(SynchronousTestCase):
    """
    The parent logs each line of a worker as one event of its own.
    """

    def setUp(self) -> None:
        self.events: list[dict[str, Any]] = []
        observer = cast(ILogObserver, self.events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.protocol = _workers._WorkerProtocol(None, 2)  # type: ignore[arg-type]
        self.protocol.pid = 4242

    def workerEvent(self, text: str, **fields: Any) -> bytes:
        """
        One JSON line as a worker's JSON observer writes it.
        """
        caught: list[dict[str, Any]] = []
        Logger(namespace="app", observer=cast(ILogObserver, caught.append)).info(text, **fields)
        return (eventAsJSON(caught[0]) + "\n").encode()

    def relayed(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("worker_pid") == 4242]

    def test_jsonSplit(self) -> None:
        """
        A JSON line that arrives in pieces, with a line of standard error
        in between, is logged once, whole, as the worker's event with the
        worker marked; the standard error line is logged on its own.
        """
        line = self.workerEvent("hello {who}", who="there")
        self.protocol.childDataReceived(1, line[:20])
        self.protocol.childDataReceived(2, b"a warning\n")
        self.protocol.childDataReceived(1, line[20:])
        [warning, event] = self.relayed()
        self.assertEqual(warning["line"], "a warning")
        self.assertEqual(warning["log_system"], "worker 2 pid 4242")
        self.assertEqual((event["log_namespace"], event["who"]), ("app", "there"))
        self.assertEqual((event["worker_index"], event["worker_pid"]), (2, 4242))
        self.assertEqual(event["log_system"], "worker 2 pid 4242 app#info")
        # The parent's JSON observer can write it again.
        self.assertEqual(json.loads(eventAsJSON(event))["worker_index"], 2)

    def test_notJSON(self) -> None:
        """
        A line on standard output that is not a JSON event is logged as
        text, and a last line with no newline is logged when the worker
        ends.
        """
        self.protocol.childDataReceived(1, b"{not json\n[1, 2]\n")
        self.protocol.childDataReceived(2, b"Traceback (most")
        self.assertEqual([e["line"] for e in self.relayed()], ["{not json", "[1, 2]"])
        ended: list[Any] = []
        self.protocol.parent = _FakeParent(ended)  # type: ignore[assignment]
        from twisted.internet.error import ProcessTerminated
        from twisted.python.failure import Failure

        self.protocol.processEnded(Failure(ProcessTerminated(1)))
        self.assertEqual([e["line"] for e in self.relayed()], ["{not json", "[1, 2]", "Traceback (most"])
        self.assertEqual(self.relayed()[-1]["log_level"].name, "warn")
        self.assertEqual(ended, [(1, None)])

    def test_tooLong(self) -> None:
        """
        A line longer than L{_workers.MAX_LINE} is dropped with a warning,
        without keeping it, and the next line is logged.
        """
        self.patch(_workers, "MAX_LINE", 100)
        self.protocol.childDataReceived(1, b"x" * 80)
        self.protocol.childDataReceived(1, b"x" * 80)
        self.assertEqual(self.protocol._buffers[1], b"")
        self.protocol.childDataReceived(1, b"x" * 500)
        self.assertEqual(self.protocol._buffers[1], b"")
        self.protocol.childDataReceived(1, b"x\n" + self.workerEvent("after"))
        messages = [e for e in self.events if "log_format" in e]
        self.assertEqual(len([e for e in messages if "dropped" in e["log_format"]]), 1)
        self.assertEqual([e["log_format"] for e in self.relayed()], ["after"])


class WorkersLogTests(SynchronousTestCase):
    """
    A real C{twistd --workers 2} with twistd's own options before
    C{websocket}.
    """

    def setUp(self) -> None:
        if connect is None:
            raise SkipTest("the websockets package is not installed (the test extra)")
        self.directory = pidAppDirectory(self)

    def clientsOnBoth(self, port: int) -> dict[int, int]:
        """
        Connect until clients have landed on two processes (bounded):
        {worker pid: client port}.
        """
        byPid: dict[int, int] = {}
        deadline = time.monotonic() + WAIT_TIMEOUT
        tries = 0
        while len(byPid) < 2 and time.monotonic() < deadline and tries < 60:
            tries += 1
            try:
                with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=5) as ws:
                    byPid.setdefault(int(ws.recv(timeout=5)), ws.local_address[1])
            except OSError:
                time.sleep(0.2)
        return byPid

    def test_logfile(self) -> None:
        """
        With C{--logfile}, C{--pidfile}, C{--reactor} and C{--umask} before
        C{websocket}: the workers run on that reactor, the pid file holds
        the parent's pid only (the workers have none, else the second
        process would refuse to start), and every worker's connection lines
        arrive in the parent's log file, marked with the worker.
        """
        port = freePort()
        logPath = os.path.join(self.directory, "ws.log")
        pidPath = os.path.join(self.directory, "ws.pid")
        with open(os.path.join(self.directory, "stdout"), "w") as out:
            process = subprocess.Popen(
                [*twistdCommand(), "-n", "--logfile", logPath, "--pidfile", pidPath,
                 "--reactor", "poll", "--umask", "0027", "websocket", "--app", "pidapp:Pid",
                 "--workers", "2", "--log-openings",
                 "--listen", f"tcp:{port}:interface=127.0.0.1"],
                cwd=self.directory, env=twistdEnvironment(), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT)
        self.addCleanup(_stop, process)

        def log() -> str:
            try:
                with open(logPath) as f:
                    return f.read()
            except FileNotFoundError:
                return ""

        deadline = time.monotonic() + WAIT_TIMEOUT
        while len(re.findall(rf"\[worker \d pid \d+ -\] .*starting on {port}", log())) < 2:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"the workers did not listen:\n{log()}")
            time.sleep(0.2)
        with open(pidPath) as f:
            self.assertEqual(int(f.read()), process.pid)
        byPid = self.clientsOnBoth(port)
        self.assertEqual(len(byPid), 2, log())
        for pid, clientPort in byPid.items():
            pattern = (rf"\[worker \d pid {pid} twisted_ws#debug\] WebSocket rfc6455 connection "
                       rf"with 127\.0\.0\.1:{clientPort} opened")
            deadline = time.monotonic() + WAIT_TIMEOUT
            while not re.search(pattern, log()):
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {pattern!r} in:\n{log()}")
                time.sleep(0.2)
        self.assertEqual(len(re.findall(r"\[worker \d pid \d+ \S+\] reactor class: "
                                        r"twisted\.internet\.pollreactor\.PollReactor", log())), 2)
        self.assertIn(_stop(process), (0, -signal.SIGTERM))
        text = log()
        self.assertEqual(len(re.findall(r"worker \d \(pid \d+\) stopped", text)), 2, text)
        self.assertNotIn("Traceback", text)
        with open(os.path.join(self.directory, "stdout")) as f:
            self.assertEqual(f.read(), "")

    def test_json(self) -> None:
        """
        With C{--log-format json}, the parent writes one JSON object a line,
        its own and every worker's, each worker's marked with its index and
        pid.
        """
        port = freePort()
        server = Twistd(["--app", "pidapp:Pid", "--workers", "2", "--log-format", "json",
                         "--log-openings", "--listen", f"tcp:{port}:interface=127.0.0.1"], self.directory)
        self.addCleanup(lambda: server.process.poll() is None and server.stop())
        deadline = time.monotonic() + WAIT_TIMEOUT
        while len(set(re.findall(rf'"log_text": "Site starting on {port}".*"worker_pid": (\d+)',
                                 server.output))) < 2:
            if time.monotonic() > deadline or not server._drain(0.2):
                raise AssertionError(f"the workers did not listen:\n{server.output}")
        byPid = self.clientsOnBoth(port)
        self.assertEqual(len(byPid), 2, server.output)
        deadline = time.monotonic() + WAIT_TIMEOUT
        while server.output.count('"wsEvent": "opened"') < 2 and time.monotonic() < deadline:
            server._drain(0.2)
        server.stop()

        events = [json.loads(line) for line in server.lines if line.strip()]
        self.assertTrue(all(isinstance(e, dict) for e in events))
        opened = [e for e in events if e.get("wsEvent") == "opened"]
        self.assertEqual({e["worker_pid"] for e in opened}, set(byPid))
        self.assertEqual({e["worker_index"] for e in opened}, {1, 2})
        for pid, clientPort in byPid.items():
            self.assertIn(f"127.0.0.1:{clientPort}",
                          [e["peer"] for e in opened if e["worker_pid"] == pid])
        # The parent's own events are JSON too, and are not marked.
        started = [e for e in events if e.get("log_namespace") == "twisted_ws.workers"
                   and "started" in e.get("log_format", "")]
        self.assertEqual(len(started), 2)
        self.assertTrue(all("worker_pid" not in e for e in started))


class _FakeParent:
    def __init__(self, ended: list[Any]) -> None:
        self.ended = ended

    def workerEnded(self, protocol: Any, code: Any, signalNumber: Any, clean: bool) -> None:
        self.ended.append((code, signalNumber))


def _stop(process: subprocess.Popen[Any]) -> int:
    """
    Send SIGTERM to C{process} and wait (bounded) for it to end.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)
        raise AssertionError("twistd did not stop") from None
