"""
The health check of C{twistd websocket} (C{--health PATH}): 200 over plain
HTTP on the WebSocket port, 503 once draining.
"""

from __future__ import annotations

import http.client
import os

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody

from twisted_ws import Version
from twisted_ws._drain import DrainState
from twisted_ws.tap import Options, makeFactories
from twisted_ws.twistd._site import makeRootFactory

from ._support.plainclient import openClient
from ._support.twistd import IO_TIMEOUT, Twistd


def parsed(*args: str) -> Options:
    options = Options()
    options.parseOptions(list(args))
    return options


class HealthResourceTests(TestCase):
    """
    The health check served by the root factory, in this process.
    """

    @defer.inlineCallbacks
    def test_okThenDraining(self) -> None:
        """
        The path answers 200 while serving and 503 once the state says
        draining; other plain requests are not answered by it.
        """
        config = parsed("--app", "echo", "--health", "/healthz")["server"]
        state = DrainState()
        root = makeRootFactory(makeFactories(config, reactor), None, config.health, state)
        port = reactor.listenTCP(0, root, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        url = f"http://127.0.0.1:{port.getHost().port}".encode()
        agent = Agent(reactor)
        response = yield agent.request(b"GET", url + b"/healthz")
        self.assertEqual((response.code, (yield readBody(response))), (200, b"ok\n"))
        state.draining = True
        response = yield agent.request(b"GET", url + b"/healthz")
        self.assertEqual((response.code, (yield readBody(response))), (503, b"draining\n"))
        response = yield agent.request(b"GET", url + b"/elsewhere")
        self.assertEqual(response.code, 404)
        yield readBody(response)

    def test_pathTakenByAnApplication(self) -> None:
        """
        A health path that an application is served on is refused.
        """
        with self.assertRaises(SystemExit) as caught:
            parsed("--app", "chat", "--path", "/ws", "--health", "/ws")
        self.assertIn("--health: path '/ws' is already used", str(caught.exception))

    def test_badPath(self) -> None:
        """
        The health path must be a path other than / and *.
        """
        for bad in ("/", "*", "healthz"):
            with self.assertRaises(SystemExit) as caught:
                parsed("--health", bad)
            self.assertIn("--health", str(caught.exception))


class TwistdHealthTests(TestCase):
    """
    The health check of a real C{twistd -n websocket}.
    """

    def test_healthOverHTTP(self) -> None:
        """
        GET /healthz answers 200 on the WebSocket port, beside the echo
        application on every other path.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        twistd = Twistd(["--app", "echo", "--listen", "tcp:0:interface=127.0.0.1",
                         "--health", "/healthz"], directory)
        self.addCleanup(lambda: twistd.process.poll() is None and twistd.stop())
        [port] = twistd.waitForPorts(1)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT)
        self.addCleanup(connection.close)
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        self.assertEqual((response.status, response.read()), (200, b"ok\n"))
        sock, _ = openClient(port, Version.RFC6455)
        sock.close()


class ConfigFileTests(TestCase):
    """
    The operations settings in the TOML file, and the command line over
    them.
    """

    def test_keys(self) -> None:
        """
        health, drain-timeout, metrics and log-format are read from the
        file; a bad value names the file and key; the command line wins.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write('app = "echo"\nhealth = "/healthz"\ndrain-timeout = 2.5\n'
                    'metrics = "tcp:9100:interface=127.0.0.1"\nlog-format = "json"\n')
        config = parsed("--config", path)["server"]
        self.assertEqual(
            (config.health, config.drainTimeout, config.metrics, config.logFormat),
            ("/healthz", 2.5, "tcp:9100:interface=127.0.0.1", "json"))
        config = parsed("--config", path, "--drain-timeout", "7", "--log-format", "text")["server"]
        self.assertEqual((config.drainTimeout, config.logFormat), (7.0, "text"))
        with open(path, "w") as f:
            f.write('drain-timeout = -1\nlog-format = "xml"\n')
        with self.assertRaises(SystemExit) as caught:
            parsed("--config", path)
        self.assertIn(f"{path}: drain-timeout: must be a positive number", str(caught.exception))
        self.assertIn(f"{path}: log-format: expected 'text' or 'json'", str(caught.exception))
