"""
Tests for L{twisted_ws.tap}: the operational options (metrics, log format,
drain timeout, health), how a worker of C{--workers} builds its service,
and what L{tap.makeService} refuses.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
from typing import Any

from twisted.internet.testing import MemoryReactor
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from twisted_ws import tap
from twisted_ws.twistd._config import ConfigurationError
from twisted_ws.twistd._services import ListeningService
from twisted_ws.twistd._workers import WORKER_ENV, ParentWatch, WorkersService

from ._support.tapopts import parse


def setEnvironment(testCase: SynchronousTestCase, name: str, value: str | None) -> None:
    """
    Set (or, with L{None}, remove) an environment variable for the duration
    of C{testCase}.
    """
    old = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value

    def restore() -> None:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old

    testCase.addCleanup(restore)


def children(top: Any) -> list[Any]:
    """
    The services directly under C{top}.
    """
    return list(top)


class OperationsTests(SynchronousTestCase):
    """
    The options that are not the library's: drain timeout, health path,
    metrics endpoint, log format.
    """

    def setUp(self) -> None:
        setEnvironment(self, "TWISTED_WS_METRICS", None)
        setEnvironment(self, WORKER_ENV, None)

    def test_givenOnTheCommandLine(self) -> None:
        """
        Each operational option reaches the server configuration.
        """
        server = parse("--drain-timeout", "2.5", "--health", "/healthz",
                       "--metrics", "tcp:0:interface=127.0.0.1", "--log-format", "json")["server"]
        self.assertEqual(server.drainTimeout, 2.5)
        self.assertEqual(server.health, "/healthz")
        self.assertEqual(server.metrics, "tcp:0:interface=127.0.0.1")
        self.assertEqual(server.logFormat, "json")

    def test_badDrainTimeout(self) -> None:
        """
        A drain timeout that is not a positive number is refused, naming
        the option.
        """
        e = self.assertRaises(ConfigurationError, parse, "--drain-timeout", "soon")
        self.assertIn("--drain-timeout", str(e))
        self.assertIn("expected a number of seconds, got 'soon'", str(e))

    def test_metricsFromEnvironment(self) -> None:
        """
        Without C{--metrics}, C{TWISTED_WS_METRICS} names the metrics
        endpoint; C{--metrics} wins over it.
        """
        setEnvironment(self, "TWISTED_WS_METRICS", "tcp:9100")
        self.assertEqual(parse()["server"].metrics, "tcp:9100")
        self.assertEqual(parse("--metrics", "tcp:9200")["server"].metrics, "tcp:9200")

    def test_emptyEnvironmentMeansNoMetrics(self) -> None:
        """
        An empty C{TWISTED_WS_METRICS} serves no metrics.
        """
        setEnvironment(self, "TWISTED_WS_METRICS", "")
        self.assertIsNone(parse()["server"].metrics)

    def test_metricsNeedPrometheusClient(self) -> None:
        """
        Without prometheus_client installed, C{--metrics} is a problem that
        says what to install.
        """
        findSpec = importlib.util.find_spec

        def missing(name: str, *args: Any) -> Any:
            if name == "prometheus_client":
                return None
            return findSpec(name, *args)

        self.patch(importlib.util, "find_spec", missing)
        e = self.assertRaises(ConfigurationError, parse, "--metrics", "tcp:0")
        self.assertIn("--metrics: needs prometheus_client: pip install twisted_ws[metrics]", str(e))


class MakeServiceTests(SynchronousTestCase):
    """
    What L{tap.makeService} builds beyond the listening endpoints.
    """

    def setUp(self) -> None:
        setEnvironment(self, "TWISTED_WS_METRICS", None)
        setEnvironment(self, WORKER_ENV, None)

    def test_unparsedOptions(self) -> None:
        """
        Options that were never parsed are refused.
        """
        e = self.assertRaises(usage.UsageError, tap.makeService, tap.Options(), MemoryReactor())
        self.assertEqual(str(e), "options were not parsed")

    def test_globalReactor(self) -> None:
        """
        Without a reactor given, the endpoints are made on the global one
        (the one twistd installed).
        """
        from twisted.internet import reactor

        top = tap.makeService(parse("--listen", "tcp:0"))
        listening = [s for s in children(top) if isinstance(s, ListeningService)]
        self.assertEqual([s.endpoint._reactor for s in listening], [reactor])

    def test_parentOfWorkers(self) -> None:
        """
        With more than one worker, the service is the workers' parent, which
        serves nothing itself.
        """
        top = tap.makeService(parse("--app", "echo", "--workers", "3", "--listen", "tcp:0"), MemoryReactor())
        self.assertIsInstance(top, WorkersService)
        self.assertEqual(top.count, 3)

    def test_workerWatchesItsParent(self) -> None:
        """
        In a worker (with the parent's environment variable set), the
        service serves itself, whatever C{--workers} says, and watches its
        parent.
        """
        setEnvironment(self, WORKER_ENV, json.dumps({"index": 2, "parent": os.getppid(), "sockets": {}}))
        top = tap.makeService(parse("--app", "echo", "--workers", "3", "--listen", "tcp:0"), MemoryReactor())
        self.assertNotIsInstance(top, WorkersService)
        watches = [s for s in children(top) if isinstance(s, ParentWatch)]
        self.assertEqual(len(watches), 1)
        self.assertEqual(watches[0].parentPid, os.getppid())

    def test_metricsEndpoint(self) -> None:
        """
        C{--metrics} adds a listening service on the metrics endpoint.
        """
        reactor = MemoryReactor()
        top = tap.makeService(parse("--listen", "tcp:0", "--metrics", "tcp:9100"), reactor)
        listening = [s.description for s in children(top) if isinstance(s, ListeningService)]
        self.assertEqual(sorted(listening), ["tcp:0", "tcp:9100"])

    def test_workerMetricsPort(self) -> None:
        """
        In worker 3, the metrics endpoint is two ports past the one given.
        """
        setEnvironment(self, WORKER_ENV, json.dumps({"index": 3, "parent": os.getppid(), "sockets": {}}))
        top = tap.makeService(parse("--listen", "tcp:0", "--metrics", "tcp:9100"), MemoryReactor())
        listening = [s.description for s in children(top) if isinstance(s, ListeningService)]
        self.assertIn("tcp:9102", listening)

    def test_jsonLogObserver(self) -> None:
        """
        C{--log-format json} gives the service a log observer, which writes
        one JSON object a line; with text, it has none.
        """
        top = tap.makeService(parse("--listen", "tcp:0", "--log-format", "json"), MemoryReactor())
        self.assertTrue(callable(top.logObserver))
        plain = tap.makeService(parse("--listen", "tcp:0"), MemoryReactor())
        self.assertIsNone(getattr(plain, "logObserver", None))


class WorkerIndexTests(SynchronousTestCase):
    """
    L{tap.workerIndex} reads the worker's number from its environment.
    """

    def test_notAWorker(self) -> None:
        """
        Outside a worker there is no index.
        """
        setEnvironment(self, WORKER_ENV, None)
        self.assertIsNone(tap.workerIndex())

    def test_index(self) -> None:
        """
        A worker's index is the one its parent gave it.
        """
        setEnvironment(self, WORKER_ENV, json.dumps({"index": 4}))
        self.assertEqual(tap.workerIndex(), 4)

    def test_malformed(self) -> None:
        """
        An environment without an index, or with one that is not a number,
        or that is not a JSON object, gives no index rather than an error.
        """
        for raw in ("{}", "[1]", '{"index": "x"}', '{"index": null}'):
            setEnvironment(self, WORKER_ENV, raw)
            self.assertIsNone(tap.workerIndex(), raw)


class JSONObserverTests(SynchronousTestCase):
    """
    Where L{tap.jsonObserver} writes: standard output or twistd's log file.
    """

    def event(self) -> dict[str, Any]:
        return {"log_format": "hello {who}", "who": "there", "log_time": 0.0,
                "log_namespace": "test", "log_level": None}

    def captureStdout(self) -> io.StringIO:
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        return out

    def test_standardOutput(self) -> None:
        """
        With C{--logfile -}, with no parent options, and with C{-n} and no
        log file, the objects go to standard output, one a line.
        """
        for parent in ({"logfile": "-", "nodaemon": False}, None, {"logfile": None, "nodaemon": True}):
            out = self.captureStdout()
            config = parse()
            config.parent = parent  # type: ignore[attr-defined]
            tap.jsonObserver(config)(self.event())
            lines = out.getvalue().splitlines()
            self.assertEqual(len(lines), 1, parent)
            self.assertEqual(json.loads(lines[0])["who"], "there")

    def test_logFile(self) -> None:
        """
        With a log file (or none, daemonised: twistd.log), the objects are
        written to that file.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, "ws.log")
        config = parse()
        config.parent = {"logfile": path, "nodaemon": False}  # type: ignore[attr-defined]
        out = self.captureStdout()
        observer = tap.jsonObserver(config)
        observer(self.event())
        self.addCleanup(observer._outFile.close)
        observer._outFile.flush()
        with open(path) as f:
            self.assertEqual(json.loads(f.read().splitlines()[0])["who"], "there")
        self.assertEqual(out.getvalue(), "")

    def test_daemonDefault(self) -> None:
        """
        Daemonised with no log file, the objects go to C{twistd.log} in the
        working directory.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        here = os.getcwd()
        os.chdir(directory)
        self.addCleanup(os.chdir, here)
        config = parse()
        config.parent = {"logfile": None, "nodaemon": False}  # type: ignore[attr-defined]
        observer = tap.jsonObserver(config)
        self.addCleanup(observer._outFile.close)
        observer(self.event())
        observer._outFile.flush()
        self.assertTrue(os.path.isfile(os.path.join(directory, "twistd.log")))
