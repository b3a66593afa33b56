"""
Tests for L{twisted_ws.twistd._workers} in process, with a fake reactor:
the sockets the parent opens, how it starts, restarts and stops its
workers, and, in a worker, the adopted sockets and the watch on the
parent.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from typing import Any

from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.task import Clock
from twisted.logger import globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.twistd import _workers, _workersocket


class FakeProcess:
    """
    The process transport of a spawned worker: it records the signals sent
    to it, and can refuse them as a process that has ended does.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.signals: list[int] = []
        self.gone = False

    def signalProcess(self, number: int) -> None:
        if self.gone:
            raise OSError("no such process")
        self.signals.append(number)


class FakeReactor(Clock):
    """
    A clock that records C{spawnProcess} calls, C{adoptStreamPort} calls and
    C{stop}.
    """

    def __init__(self) -> None:
        super().__init__()
        self.spawned: list[dict[str, Any]] = []
        self.adopted: list[tuple[int, int, Any]] = []
        self.stopped = False

    def spawnProcess(self, protocol: Any, executable: str, args: list[str], env: dict[str, str],
                     path: str, childFDs: dict[int, Any]) -> FakeProcess:
        process = FakeProcess(1000 + len(self.spawned))
        self.spawned.append({"protocol": protocol, "args": args, "env": env, "childFDs": childFDs,
                             "process": process})
        protocol.makeConnection(process)
        return process

    def adoptStreamPort(self, fd: int, family: int, factory: Any) -> str:
        self.adopted.append((fd, family, factory))
        return "port"

    def stop(self) -> None:
        self.stopped = True


class Config:
    """
    The parts of a L{ServerConfig} the workers' parent reads.
    """

    def __init__(self, listen: list[str], workers: int = 2, drainTimeout: float = 1.0) -> None:
        self.listen = listen
        self.workers = workers
        self.drainTimeout = drainTimeout


def captureLog(testCase: SynchronousTestCase) -> list[dict[str, Any]]:
    """
    The events logged under the workers' namespace during C{testCase}.
    """
    events: list[dict[str, Any]] = []

    def observer(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == "twisted_ws.workers":
            events.append(event)

    globalLogPublisher.addObserver(observer)
    testCase.addCleanup(globalLogPublisher.removeObserver, observer)
    return events


def ended(code: int | None = 0, number: int | None = None) -> Failure:
    if code == 0 and number is None:
        return Failure(ProcessDone(0))
    return Failure(ProcessTerminated(code, number))


class OpenSocketTests(SynchronousTestCase):
    """
    L{_workersocket.openSocket}: the listening sockets the parent opens.
    """

    def test_tcp(self) -> None:
        """
        A TCP endpoint gives a listening, non-blocking IPv4 socket on its
        interface.
        """
        sock, family = _workersocket.openSocket(FakeReactor(), "tcp:0:interface=127.0.0.1")
        self.addCleanup(sock.close)
        self.assertEqual(family, "INET")
        self.assertEqual(sock.getsockname()[0], "127.0.0.1")
        self.assertFalse(sock.getblocking())
        client = socket.create_connection(sock.getsockname(), timeout=5)
        client.close()

    def test_tcp6Interface(self) -> None:
        """
        A TCP endpoint on an IPv6 interface, written with C{tcp:} or
        C{tcp6:}, opens an IPv6 socket.
        """
        for description in (r"tcp:0:interface=\:\:1", r"tcp6:0:interface=\:\:1"):
            try:
                sock, family = _workersocket.openSocket(FakeReactor(), description)
            except SystemExit:  # pragma: no cover - no IPv6 loopback here
                continue
            sock.close()
            self.assertEqual(family, "INET6", description)

    def test_unix(self) -> None:
        """
        A UNIX endpoint gets its mode, and a stale socket file left by a
        process that is gone is replaced.
        """
        path = os.path.abspath(self.mktemp())
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()
        sock, family = _workersocket.openSocket(FakeReactor(), f"unix:{path}:mode=600")
        self.addCleanup(sock.close)
        self.assertEqual(family, "UNIX")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)

    def test_unixInUse(self) -> None:
        """
        A UNIX socket another process listens on is left alone, and opening
        it fails with one line naming the endpoint.
        """
        path = os.path.abspath(self.mktemp())
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        other.bind(path)
        other.listen(1)
        self.addCleanup(other.close)
        with self.assertRaises(SystemExit) as caught:
            _workersocket.openSocket(FakeReactor(), f"unix:{path}")
        self.assertTrue(str(caught.exception.code).startswith(
            f"twistd websocket: cannot listen on 'unix:{path}': "), caught.exception.code)

    def test_portInUse(self) -> None:
        """
        A TCP port in use fails with the line that says to pick another.
        """
        other = socket.socket()
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        self.addCleanup(other.close)
        port = other.getsockname()[1]
        with self.assertRaises(SystemExit) as caught:
            _workersocket.openSocket(FakeReactor(), f"tcp:{port}:interface=127.0.0.1")
        self.assertEqual(caught.exception.code,
                         f"twistd websocket: port {port} is in use: pass --listen tcp:PORT "
                         "to listen on another port")

    def test_otherEndpoints(self) -> None:
        """
        Endpoints whose socket the parent cannot open are refused.
        """
        with self.assertRaises(_workers.ConfigError) as caught:
            _workersocket.openSocket(FakeReactor(), "stdio:")
        self.assertEqual(str(caught.exception), "the workers can share tcp:, ssl: and unix: endpoints only")


class ParseWorkersTests(SynchronousTestCase):
    """
    L{_workers.parseWorkers}.
    """

    def test_values(self) -> None:
        """
        Integers and integer strings from 1 to L{_workers.MAX_WORKERS} are
        taken; booleans, other types and numbers out of range are not.
        """
        self.assertEqual(_workers.parseWorkers(" 4 "), 4)
        self.assertEqual(_workers.parseWorkers(_workers.MAX_WORKERS), _workers.MAX_WORKERS)
        for bad in (0, _workers.MAX_WORKERS + 1, True, 2.0):
            with self.assertRaises(_workers.ConfigError) as caught:
                _workers.parseWorkers(bad)
            self.assertEqual(str(caught.exception),
                             f"expected a number of processes from 1 to {_workers.MAX_WORKERS}, got {bad!r}")
        with self.assertRaises(_workers.ConfigError) as caught:
            _workers.parseWorkers("many")
        self.assertEqual(str(caught.exception), "expected a number of processes, got 'many'")


class ParentTests(SynchronousTestCase):
    """
    L{_workers.WorkersService}: the parent starts, restarts and stops its
    workers.
    """

    def setUp(self) -> None:
        self.reactor = FakeReactor()
        self.log = captureLog(self)
        self.service = _workers.WorkersService(
            Config(["tcp:0:interface=127.0.0.1"], workers=2), self.reactor,
            ["twistd", "-n", "websocket", "--app", "echo", "--workers", "2"])
        self.service.privilegedStartService()
        self.service.startService()
        self.addCleanup(self.closeSockets)

    def closeSockets(self) -> None:
        for _description, sock, _family in self.service._sockets:
            sock.close()

    def test_spawned(self) -> None:
        """
        Each worker is a C{twistd -n websocket} with the parent's arguments
        after C{websocket}, the listening socket as descriptor 3, and its
        number, the parent's pid and the sockets in its environment.
        """
        self.assertEqual(len(self.reactor.spawned), 2)
        for index, spawned in enumerate(self.reactor.spawned, 1):
            args = spawned["args"]
            self.assertEqual(args[args.index("websocket") + 1:][:4], ["--app", "echo", "--workers", "2"])
            info = json.loads(spawned["env"][_workers.WORKER_ENV])
            self.assertEqual(info, {"index": index, "parent": os.getpid(),
                                    "sockets": {"tcp:0:interface=127.0.0.1": [3, "INET"]}})
            self.assertEqual(spawned["childFDs"][3], self.service._sockets[0][1].fileno())
            self.assertEqual(spawned["env"]["PYTHONUNBUFFERED"], "1")
        self.assertEqual(sorted(self.service.workers), [1, 2])

    def test_restartWithBackoff(self) -> None:
        """
        A worker that dies is started again at once the first time, then
        after a delay that grows while it keeps dying soon after starting.
        """
        first = self.reactor.spawned[0]["protocol"]
        first.processEnded(ended(1))
        self.assertEqual(len(self.reactor.spawned), 2)
        self.reactor.advance(0)
        self.assertEqual(len(self.reactor.spawned), 3)
        second = self.reactor.spawned[2]["protocol"]
        self.assertIs(self.service.workers[1], second)
        second.processEnded(ended(None, signal.SIGKILL))
        self.assertEqual(len(self.reactor.calls), 1)
        delay = self.reactor.calls[0].getTime() - self.reactor.seconds()
        self.assertGreater(delay, 0)
        self.reactor.advance(delay)
        self.assertEqual(len(self.reactor.spawned), 4)
        messages = [e["log_format"] for e in self.log if e.get("how")]
        self.assertTrue(any("restarting it" in m for m in messages), messages)
        self.assertEqual([e["how"] for e in self.log if e.get("how")], ["status 1", "signal 9"])

    def test_stableWorkerRestartsAtOnce(self) -> None:
        """
        A worker that had run for L{_workers.STABLE_AFTER} seconds is
        restarted at once, however many times it died before.
        """
        self.service._attempts[1] = 5
        protocol = self.reactor.spawned[0]["protocol"]
        protocol.started -= _workers.STABLE_AFTER
        protocol.processEnded(ended(1))
        self.assertEqual([c.getTime() for c in self.reactor.calls], [self.reactor.seconds()])

    def test_staleEndIgnoredForBook(self) -> None:
        """
        The end of a worker that was replaced already leaves its
        replacement in the books.
        """
        old = self.reactor.spawned[0]["protocol"]
        old.processEnded(ended(1))
        self.reactor.advance(0)
        replacement = self.service.workers[1]
        self.service.workerEnded(old, 1, None, False)
        self.assertIs(self.service.workers.get(1), replacement)

    def test_stopSignalsAndWaits(self) -> None:
        """
        Stopping sends SIGTERM to every worker, cancels pending restarts,
        and finishes (closing the sockets) once all have ended; none is
        started again.
        """
        dead = self.reactor.spawned[1]["protocol"]
        dead.processEnded(ended(1))
        self.assertEqual(len(self.reactor.calls), 1)
        d = self.service.stopService()
        # The restart is cancelled; what is left is the deadline of the kill.
        self.assertEqual([c.getTime() for c in self.reactor.calls],
                         [self.reactor.seconds() + 1.0 + _workers.STOP_GRACE])
        self.assertEqual(self.reactor.spawned[0]["process"].signals, [signal.SIGTERM])
        self.assertNoResult(d)
        self.reactor.spawned[0]["protocol"].processEnded(ended(None, signal.SIGTERM))
        self.successResultOf(d)
        self.assertEqual(self.service._sockets, [])
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.service._spawn(1)
        self.assertEqual(len(self.reactor.spawned), 2)
        stopped = [e for e in self.log if e["log_format"].endswith("stopped ({how})")]
        self.assertEqual([(e["index"], e["how"]) for e in stopped], [(1, "signal 15")])

    def test_killedWhenLate(self) -> None:
        """
        A worker still running the drain time plus L{_workers.STOP_GRACE}
        after SIGTERM is killed; one that is gone already is skipped.
        """
        d = self.service.stopService()
        late, gone = (s["process"] for s in self.reactor.spawned)
        gone.gone = True
        self.reactor.advance(1.0 + _workers.STOP_GRACE)
        self.assertEqual(late.signals, [signal.SIGTERM, signal.SIGKILL])
        self.assertEqual(gone.signals, [signal.SIGTERM])
        for spawned in self.reactor.spawned:
            spawned["protocol"].processEnded(ended(None, signal.SIGKILL))
        self.successResultOf(d)

    def test_noTransport(self) -> None:
        """
        A worker whose process was never made is not signalled.
        """
        protocol = _workers._WorkerProtocol(self.service, 9)
        self.service._signal(protocol, signal.SIGTERM)
        self.assertIsNone(protocol.transport)


class WorkerSideTests(SynchronousTestCase):
    """
    In a worker: the inherited sockets and the watch on the parent.
    """

    def setEnvironment(self, value: dict[str, Any] | None) -> None:
        old = os.environ.get(_workers.WORKER_ENV)
        if value is None:
            os.environ.pop(_workers.WORKER_ENV, None)
        else:
            os.environ[_workers.WORKER_ENV] = json.dumps(value)

        def restore() -> None:
            if old is None:
                os.environ.pop(_workers.WORKER_ENV, None)
            else:
                os.environ[_workers.WORKER_ENV] = old

        self.addCleanup(restore)

    def test_workerEndpoint(self) -> None:
        """
        In a worker, an endpoint the parent opened is the inherited socket;
        another one, or any outside a worker, is not.
        """
        reactor = FakeReactor()
        self.setEnvironment(None)
        self.assertIsNone(_workersocket.workerEndpoint(reactor, "tcp:8080"))
        self.assertFalse(_workers.isWorker())
        self.setEnvironment({"index": 1, "parent": 1, "sockets": {"tcp:8080": [3, "INET"]}})
        self.assertTrue(_workers.isWorker())
        endpoint = _workersocket.workerEndpoint(reactor, "tcp:8080")
        self.assertEqual((endpoint.fd, endpoint.family, endpoint.tlsOptions), (3, "INET", None))
        self.assertIsNone(_workersocket.workerEndpoint(reactor, "tcp:8081"))

    def test_adoptedListen(self) -> None:
        """
        Listening on the adopted endpoint hands the socket to the reactor
        and closes the inherited descriptor (the reactor keeps its own).
        """
        reactor = FakeReactor()
        sock = socket.socket()
        self.addCleanup(sock.close)
        fd = os.dup(sock.fileno())
        endpoint = _workersocket.AdoptedEndpoint(reactor, fd, "INET")
        factory = object()
        self.assertEqual(self.successResultOf(endpoint.listen(factory)), "port")
        self.assertEqual(reactor.adopted, [(fd, socket.AF_INET, factory)])
        self.assertRaises(OSError, os.fstat, fd)

    def test_adoptedTLS(self) -> None:
        """
        With TLS options, the factory is wrapped in TLS before adoption.
        """
        from twisted.protocols.tls import TLSMemoryBIOFactory

        reactor = FakeReactor()
        sock = socket.socket()
        self.addCleanup(sock.close)
        from twisted.internet.ssl import CertificateOptions

        endpoint = _workersocket.AdoptedEndpoint(reactor, os.dup(sock.fileno()), "INET",
                                            tlsOptions=CertificateOptions())
        endpoint.listen(object())
        self.assertIsInstance(reactor.adopted[0][2], TLSMemoryBIOFactory)

    def test_parentWatch(self) -> None:
        """
        The watch checks every interval, stops the reactor once the parent
        is gone, and is cancelled when its service stops.
        """
        self.setEnvironment({"index": 1, "parent": os.getppid(), "sockets": {}})
        reactor = FakeReactor()
        watch = _workers.ParentWatch(reactor, interval=2.0)
        watch.startService()
        reactor.advance(2.0)
        self.assertFalse(reactor.stopped)
        self.assertEqual(len(reactor.getDelayedCalls()), 1)
        watch.parentPid = -1
        reactor.advance(2.0)
        self.assertTrue(reactor.stopped)
        self.assertEqual(reactor.getDelayedCalls(), [])
        watch.stopService()

        other = _workers.ParentWatch(reactor)
        other.startService()
        other.stopService()
        self.assertEqual(reactor.getDelayedCalls(), [])
