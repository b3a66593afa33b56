"""
Tests for the nginx deployment of C{docs/deployment.rst}: Debian's nginx
(C{.ci/run} installs it) runs C{deploy/nginx-websocket.conf} on a free
loopback port in front of two real C{twistd websocket --app chat} backends
on one Redis hub, and clients connected through nginx to both backends
chat across them.  Every wait is bounded.

Skipped, with the reason, only when the nginx or redis-server binary is
absent.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from ._support.redis import NO_REDIS, REDIS_SERVER, RedisServer, freePort
from ._support.scaling import WAIT_TIMEOUT, join, readType, sayUntilHeard
from ._support.twistd import ROOT, Twistd

try:
    from websockets.sync.client import connect
except ImportError:  # pragma: no cover - the test extra installs it
    connect = None  # type: ignore[assignment]

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)

#: The configuration the deployment how-to shows.
CONFIG = os.path.join(ROOT, "deploy", "nginx-websocket.conf")

#: The main configuration the test runs the how-to's file in: no daemon, no
#: root, everything in the test's directory.
MAIN = """
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/site.conf;
}}
"""


def siteConfig(port: int, backends: list[int]) -> str:
    """
    The how-to's file with its ports replaced by the test's.
    """
    with open(CONFIG) as f:
        text = f.read()
    text, listens = re.subn(r"listen 8080;", f"listen 127.0.0.1:{port};", text)
    servers = iter(backends)
    text, upstreams = re.subn(r"server 127\.0\.0\.1:808[12]", lambda m: f"server 127.0.0.1:{next(servers)}", text)
    assert (listens, upstreams) == (1, 2), (listens, upstreams)
    return text


class NginxTests(SynchronousTestCase):
    """
    Clients through nginx reach both backends and chat across them.
    """

    def setUp(self) -> None:
        if NGINX is None:
            raise SkipTest("nginx is not installed (apt-get install nginx-light; .ci/run installs it)")
        if REDIS_SERVER is None:
            raise SkipTest(NO_REDIS)
        if connect is None:
            raise SkipTest("the websockets package is not installed (the test extra)")
        self.directory = tempfile.mkdtemp(prefix="twisted-ws-nginx-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.redis = RedisServer(self.directory)
        self.redis.start()
        self.addCleanup(self.redis.stop)

    def startBackend(self) -> int:
        server = Twistd(["--app", "chat", "--hub", self.redis.url, "--log-openings",
                         "--listen", "tcp:0:interface=127.0.0.1"], self.directory)
        self.addCleanup(server.stop)
        self.backends.append(server)
        return server.waitForPorts()[0]

    def startNginx(self, backends: list[int]) -> int:
        port = freePort()
        with open(os.path.join(self.directory, "site.conf"), "w") as f:
            f.write(siteConfig(port, backends))
        main = os.path.join(self.directory, "nginx.conf")
        with open(main, "w") as f:
            f.write(MAIN.format(dir=self.directory))
        assert NGINX is not None
        log = open(os.path.join(self.directory, "nginx.out"), "wb")
        process = subprocess.Popen([NGINX, "-p", self.directory, "-c", main], stdout=log,
                                   stderr=subprocess.STDOUT)
        log.close()
        self.addCleanup(self.stopNginx, process)
        deadline = time.monotonic() + WAIT_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.fail(f"nginx exited with {process.returncode}: {self.nginxLog()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                time.sleep(0.05)
        self.fail(f"nginx did not listen: {self.nginxLog()}")

    def nginxLog(self) -> str:
        text = ""
        for name in ("nginx.out", "error.log"):
            try:
                with open(os.path.join(self.directory, name)) as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def stopNginx(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(WAIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(WAIT_TIMEOUT)

    def test_chatThroughNginx(self) -> None:
        """
        Clients connected through nginx land on both backends (nginx's
        least-connections balancing) and chat across them: a message said
        on one reaches the other, and the room's users span both.
        """
        self.backends: list[Twistd] = []
        ports = [self.startBackend(), self.startBackend()]
        port = self.startNginx(ports)
        url = f"ws://127.0.0.1:{port}/ws"
        with connect(url, open_timeout=WAIT_TIMEOUT) as alice, \
                connect(url, open_timeout=WAIT_TIMEOUT) as bob:
            self.assertEqual(join(alice, "alice")["users"], ["alice"])
            self.assertEqual(join(bob, "bob")["users"], ["alice", "bob"])
            self.assertEqual(readType(alice, "join")["name"], "bob")
            self.assertEqual(sayUntilHeard(alice, bob, "hello from alice")["name"], "alice")
            self.assertEqual(sayUntilHeard(bob, alice, "hello from bob")["name"], "bob")
            # One client on each backend: each backend logs one opening.
            deadline = time.monotonic() + WAIT_TIMEOUT
            while True:
                opened = [len(re.findall(r"connection with \S+ opened", b.output)) for b in self.backends]
                if opened == [1, 1] or time.monotonic() > deadline:
                    break
                for backend in self.backends:
                    backend._drain(0.1)
            self.assertEqual(opened, [1, 1], [b.output for b in self.backends])
