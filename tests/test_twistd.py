"""
Tests that run the real C{twistd websocket} in a subprocess on loopback,
talk to it with WebSocket clients (C{websockets} and the codec's own client
over a plain socket), and stop it with SIGTERM.

Every wait is bounded: starting, reading, and stopping.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import textwrap
import urllib.request
from typing import Any

from twisted.trial.unittest import SkipTest, TestCase

from twisted_ws.codec import ClientConnection, ConnectionOpened, TextMessage, Version

from ._support.certs import writeCertificate
from ._support.twistd import IO_TIMEOUT, ROOT, Twistd

try:
    from websockets.sync.client import connect
except ImportError:  # pragma: no cover - the test extra installs it
    connect = None  # type: ignore[assignment]

def writeSelfSignedCertificate(directory: str) -> tuple[str, str]:
    """
    Write a key and a self-signed certificate for C{localhost} and
    127.0.0.1 into C{directory}; return their paths.
    """
    keyPath, certPath, _ = writeCertificate(directory, ["localhost", "127.0.0.1"])
    return keyPath, certPath


def codecExchange(port: int, path: str, version: Version, messages: list[str]) -> tuple[Any, list[str]]:
    """
    Open a WebSocket of C{version} with the codec's client over a plain
    socket, send C{messages}, and collect as many text messages back.

    @return: the L{ConnectionOpened} event and the texts received.
    """
    client = ClientConnection(f"127.0.0.1:{port}", path, version=version)
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(client.dataToSend())
        opened = None
        texts: list[str] = []
        sent = False
        while len(texts) < len(messages):
            data = sock.recv(65536)
            if not data:
                raise AssertionError(f"the server closed the connection early: {client.closeCode}")
            for event in client.receiveData(data):
                if isinstance(event, ConnectionOpened):
                    opened = event
                elif isinstance(event, TextMessage):
                    texts.append(event.data)
            if opened is not None and not sent:
                for message in messages:
                    client.sendText(message)
                sent = True
            pending = client.dataToSend()
            if pending:
                sock.sendall(pending)
        client.close()
        sock.sendall(client.dataToSend())
    return opened, texts


class TwistdTests(TestCase):
    """
    C{twistd -n websocket} as a person or a CI job runs it.
    """

    def setUp(self) -> None:
        if connect is None:
            raise SkipTest("websockets is not installed (pip install -e .[test])")
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)

    def start(self, *args: str, ports: int = 1) -> tuple[Twistd, list[int]]:
        """
        Start twistd with C{args} and wait until it listens.
        """
        twistd = Twistd(list(args), self.directory)
        self.addCleanup(self.stopIfRunning, twistd)
        return twistd, twistd.waitForPorts(ports)

    def stopIfRunning(self, twistd: Twistd) -> None:
        if twistd.process.poll() is None:
            twistd.stop()

    def assertStopsCleanly(self, twistd: Twistd) -> None:
        """
        SIGTERM ends the process normally, without a traceback.
        """
        code = twistd.stop()
        self.assertIn(code, (0, -signal.SIGTERM), twistd.output)
        self.assertIn("Received SIGTERM", twistd.output)
        self.assertNotIn("Traceback", twistd.output)

    def connect(self, url: str, **kwargs: Any) -> Any:
        """
        Open a C{websockets} client connection with bounded waits.
        """
        return connect(url, open_timeout=IO_TIMEOUT, close_timeout=IO_TIMEOUT, proxy=None, **kwargs)

    def test_echo(self) -> None:
        """
        C{--app echo}, as the conformance tests run it, echoes text and
        binary messages on any path, and a hixie-76 client's text.
        """
        twistd, [port] = self.start("--app", "echo", "--listen", "tcp:0:interface=127.0.0.1")
        with self.connect(f"ws://127.0.0.1:{port}/any/path?x=1", max_size=None) as ws:
            ws.send("h\u00e9llo")
            self.assertEqual(ws.recv(timeout=IO_TIMEOUT), "h\u00e9llo")
            ws.send(b"\x00\xff" * 1000)
            self.assertEqual(ws.recv(timeout=IO_TIMEOUT), b"\x00\xff" * 1000)
            large = b"\xab" * (2 * 1024 * 1024)
            ws.send(large)
            self.assertEqual(ws.recv(timeout=IO_TIMEOUT), large)
        opened, texts = codecExchange(port, "/", Version.HIXIE76, ["old", "browser"])
        self.assertEqual(opened.version, Version.HIXIE76)
        self.assertEqual(texts, ["old", "browser"])
        self.assertStopsCleanly(twistd)

    def test_chatDemo(self) -> None:
        """
        With no options but the endpoint, the demo page is served at C{/}
        and the chat at C{/ws}: two clients in a room see each other's
        messages.
        """
        twistd, [port] = self.start("--listen", "tcp:0:interface=127.0.0.1")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=IO_TIMEOUT) as response:
            page = response.read().decode("utf-8")
        self.assertIn("twisted_ws chat", page)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config.json", timeout=IO_TIMEOUT) as r:
            self.assertEqual(json.load(r), {"path": "/ws"})

        with self.connect(f"ws://127.0.0.1:{port}/ws") as alice, \
                self.connect(f"ws://127.0.0.1:{port}/ws") as bob:
            welcome = json.loads(alice.recv(timeout=IO_TIMEOUT))
            self.assertEqual((welcome["type"], welcome["version"]), ("welcome", "rfc6455"))
            json.loads(bob.recv(timeout=IO_TIMEOUT))
            alice.send(json.dumps({"type": "join", "room": "r1", "name": "alice"}))
            self.assertEqual(json.loads(alice.recv(timeout=IO_TIMEOUT))["users"], ["alice"])
            bob.send(json.dumps({"type": "join", "room": "r1", "name": "bob"}))
            self.assertEqual(json.loads(bob.recv(timeout=IO_TIMEOUT))["users"], ["alice", "bob"])
            self.assertEqual(json.loads(alice.recv(timeout=IO_TIMEOUT))["type"], "join")
            alice.send(json.dumps({"type": "message", "text": "hi bob"}))
            self.assertEqual(
                json.loads(bob.recv(timeout=IO_TIMEOUT)),
                {"type": "message", "room": "r1", "name": "alice", "text": "hi bob"},
            )
            bob.send(json.dumps({"type": "message", "text": "hi alice"}))
            self.assertEqual(json.loads(alice.recv(timeout=IO_TIMEOUT))["text"], "hi alice")
        self.assertStopsCleanly(twistd)

    def test_configSeveralApps(self) -> None:
        """
        A configuration file serves several applications on their paths of
        one port, with TLS (C{ssl:}, for wss) on a second endpoint.
        """
        keyPath, certPath = writeSelfSignedCertificate(self.directory)
        configPath = os.path.join(self.directory, "websocket.toml")
        with open(configPath, "w") as f:
            f.write(
                'listen = ["tcp:0:interface=127.0.0.1", '
                f'"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}"]\n'
                "max-message-size = 100000\n"
                '[[app]]\nname = "chat"\npath = "/chat"\n'
                '[[app]]\nname = "echo"\npath = "/echo"\n'
            )
        twistd, [plainPort, tlsPort] = self.start("--config", configPath, ports=2)

        with self.connect(f"ws://127.0.0.1:{plainPort}/echo") as ws:
            ws.send("plain")
            self.assertEqual(ws.recv(timeout=IO_TIMEOUT), "plain")
        with self.connect(f"ws://127.0.0.1:{plainPort}/chat") as ws:
            self.assertEqual(json.loads(ws.recv(timeout=IO_TIMEOUT))["type"], "welcome")

        context = ssl.create_default_context(cafile=certPath)
        with self.connect(f"wss://127.0.0.1:{tlsPort}/echo", ssl=context) as ws:
            ws.send("secure")
            self.assertEqual(ws.recv(timeout=IO_TIMEOUT), "secure")
            # max-message-size from the file applies: a bigger message is
            # refused with 1009 (which can arrive while the message is still
            # being sent: the server refuses it from its frame header).
            with self.assertRaises(Exception) as caught:
                ws.send("x" * 100001)
                ws.recv(timeout=IO_TIMEOUT)
            self.assertEqual(caught.exception.rcvd.code, 1009)
        self.assertStopsCleanly(twistd)

    def assertRefused(self, args: list[str], *fragments: str) -> str:
        """
        twistd stops at once with status 1 and a message holding
        C{fragments}, and no traceback; return its output.
        """
        twistd = Twistd(args, self.directory)
        self.addCleanup(self.stopIfRunning, twistd)
        code = twistd.waitForExit()
        self.assertEqual(code, 1, twistd.output)
        for fragment in fragments:
            self.assertIn(fragment, twistd.output)
        self.assertNotIn("Traceback", twistd.output)
        return twistd.output

    def test_badConfiguration(self) -> None:
        """
        An unknown key, a wrong type or a bad endpoint in the configuration
        file, or a bad option, stop twistd with status 1 and one line per
        problem, without twistd's usage text.
        """
        configPath = os.path.join(self.directory, "bad.toml")
        with open(configPath, "w") as f:
            f.write('listen = "tcp:zero"\nmax-mesage-size = 10\nopen-timeout = "soon"\n')
        output = self.assertRefused(
            ["--config", configPath, "--max-frame-size", "big"],
            f"{configPath}: unknown key 'max-mesage-size' (did you mean 'max-message-size'?)",
            f"{configPath}: open-timeout: expected a number of seconds, got 'soon'",
            f"{configPath}: listen 'tcp:zero': ",
            "--max-frame-size: expected a size in bytes such as 1048576 or 16MiB, got 'big'",
        )
        self.assertNotIn("Usage:", output)
        self.assertNotIn("--help", output)
        problems = [line for line in output.splitlines() if line.startswith("twistd websocket: ")]
        self.assertEqual(len(problems), 4, output)

    def test_portInUse(self) -> None:
        """
        A port that is already taken stops twistd with status 1 and one line
        that says so and what to do, printed once, before any line saying
        what is served.
        """
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            output = self.assertRefused(
                ["--listen", f"tcp:{port}:interface=127.0.0.1"],
                f"port {port} is in use: pass --listen tcp:PORT",
            )
        self.assertEqual(output.count("is in use"), 1, output)
        self.assertNotIn("serving", output)

    def test_documentedOwnApplication(self) -> None:
        """
        The example of docs/twistd.rst, "Your own application", works as
        written: C{game.py} in the directory twistd starts in (which is not
        on C{PYTHONPATH}) is found, its C{Shout} protocol answers at
        C{/shout}, and the files of C{./public} are served at C{/}.
        """
        source, command = documentedExample()
        with open(os.path.join(self.directory, "game.py"), "w") as f:
            f.write(source)
        os.mkdir(os.path.join(self.directory, "public"))
        with open(os.path.join(self.directory, "public", "index.html"), "w") as f:
            f.write("<p>shout here</p>")
        words = command.split()
        self.assertEqual(words[:3], ["twistd", "-n", "websocket"])
        twistd, [port] = self.start(*words[3:], "--listen", "tcp:0:interface=127.0.0.1")
        with self.connect(f"ws://127.0.0.1:{port}/shout") as ws:
            ws.send("hello")
            self.assertEqual(ws.recv(timeout=IO_TIMEOUT), "HELLO")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=IO_TIMEOUT) as response:
            self.assertIn(b"shout here", response.read())
        self.assertStopsCleanly(twistd)


def documentedExample() -> tuple[str, str]:
    """
    The module source and the command of the example of running your own
    application in docs/twistd.rst, as the page shows them.
    """
    with open(os.path.join(ROOT, "docs", "twistd.rst"), encoding="utf-8") as f:
        page = f.read()
    section = page[page.index("Your own application\n"):page.index("Paths and static files\n")]
    module = section[section.index("directory::\n") + len("directory::\n"):section.index(".. code-block:: shell")]
    source = textwrap.dedent(module).strip() + "\n"
    after = section[section.index(".. code-block:: shell"):]
    command = next(line.strip() for line in after.splitlines()[1:] if line.strip())
    return source, command
