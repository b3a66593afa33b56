"""
C{twistd websocket --log-format json}: one JSON object a line, written by
Twisted's L{twisted.logger.jsonFileLogObserver}, with stable fields for
connections opened and closed and for failed handshakes.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from twisted.trial.unittest import TestCase

from twisted_ws import Version

from ._support.plainclient import openClient, readClose
from ._support.twistd import IO_TIMEOUT, Twistd


class JSONLogTests(TestCase):
    """
    The JSON lines of a real C{twistd -n websocket --log-format json}.
    """

    def test_connectionEvents(self) -> None:
        """
        Opening, closing with a code and a refused handshake each log one
        object with the documented fields; every line is JSON.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        twistd = Twistd(["--app", "echo", "--listen", "tcp:0:interface=127.0.0.1",
                         "--log-format", "json", "--log-openings"], directory)
        self.addCleanup(lambda: twistd.process.poll() is None and twistd.stop())
        # Each JSON line names the port twice (message and log_text).
        port = twistd.waitForPorts(1)[0]
        sock, client = openClient(port, Version.RFC6455)
        self.addCleanup(sock.close)
        client.close(4000, "done")
        sock.sendall(client.dataToSend())
        readClose(sock, client)
        bad = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.addCleanup(bad.close)
        bad.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        self.assertTrue(bad.recv(65536).startswith(b"HTTP/1.1 400"))
        twistd.stop()

        events: list[dict[str, Any]] = []
        for line in twistd.lines:
            if line.strip():
                events.append(json.loads(line))
        byKind: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            if "wsEvent" in event:
                byKind.setdefault(event["wsEvent"], []).append(event)

        [opened] = byKind["opened"]
        self.assertEqual((opened["version"], opened["path"]), ("rfc6455", "/"))
        self.assertRegex(opened["peer"], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(opened["log_namespace"], "twisted_ws")

        [closed] = byKind["closed"]
        self.assertEqual(
            (closed["version"], closed["path"], closed["code"], closed["clean"], closed["reason"]),
            ("rfc6455", "/", 4000, True, "done"))
        self.assertEqual(closed["peer"], opened["peer"])
        self.assertGreaterEqual(closed["duration"], 0)
        self.assertGreater(closed["bytesReceived"], 0)
        self.assertGreater(closed["bytesSent"], 0)
        self.assertEqual(closed["log_level"]["name"], "info")

        [failed] = byKind["handshake_failed"]
        self.assertEqual(failed["status"], 400)
        self.assertTrue(failed["reason"])
        self.assertIn("log_time", failed)
