"""
Tests of C{dev.py}, the README's entry point: C{dev.py serve} runs the demo on
loopback, says where, writes no pid file and stops quietly on Ctrl-C; a
Python that is too old is refused in one message; a C{.venv} made by another
interpreter, or half-made, is rebuilt instead of reused.

The serve tests run the real C{dev.py} of the source tree (its C{.venv} is
the one the tests run in, so nothing is rebuilt); the environment tests run
a copy of C{dev.py} in a temporary directory, so that the real C{.venv} is
never touched.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import ModuleType

from twisted.trial.unittest import TestCase

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "dev.py"

#: Seconds allowed for C{dev.py serve} to start listening (it may first
#: install the project into C{.venv}) and to stop.
START_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0


class Output:
    """
    The output of a child process, read on a thread so that every wait for
    it is bounded.

    @ivar lines: every line it printed so far.
    """

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._ended = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def waitFor(self, pattern: str, timeout: float) -> re.Match[str]:
        """
        Wait until a line matches C{pattern}.

        @raise AssertionError: no line matched within C{timeout} seconds, or
            the output ended.
        """
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                match = re.search(pattern, line)
                if match:
                    return match
            left = deadline - time.monotonic()
            if self._ended or left <= 0:
                raise AssertionError(f"no line matching {pattern!r}:\n{self.text}")
            try:
                line = self._queue.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if line is None:
                self._ended = True
            else:
                self.lines.append(line)

    def waitForEnd(self, timeout: float) -> int:
        """
        Wait for the process to end and for all its output.

        @return: its exit status.
        """
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)
            raise AssertionError(f"{self.process.args!r} did not end in {timeout} s:\n{self.text}") from None
        deadline = time.monotonic() + timeout
        while not self._ended and time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1.0)
            except queue.Empty:
                continue
            if line is None:
                self._ended = True
            else:
                self.lines.append(line)
        return code


def startServe(*args: str) -> Output:
    """
    Start C{python dev.py serve ARGS} of the source tree in a session of its
    own (so that a signal for it reaches it alone, as a Ctrl-C in a
    terminal reaches dev.py), with its output on a pipe.
    """
    process = subprocess.Popen(
        [sys.executable, str(DEV), "serve", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return Output(process)


def fetchPage(port: int) -> bytes:
    """
    Get the demo page from the server on C{port} of loopback; an answer
    means that its reactor runs (and so handles signals).
    """
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        return response.read()  # type: ignore[no-any-return]


class ServeTests(TestCase):
    """
    C{python3 dev.py serve}.
    """

    def serve(self, *args: str) -> Output:
        output = startServe(*args)

        def cleanUp() -> None:
            # dev.py runs twistd in a session of its own: SIGKILL to dev.py
            # would leave that twistd running.  SIGTERM is forwarded to it,
            # and dev.py ends once it has; SIGKILL only if that hangs.
            if output.process.poll() is None:
                output.process.send_signal(signal.SIGTERM)
                try:
                    output.process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    os.killpg(output.process.pid, signal.SIGKILL)
                    output.process.wait(timeout=STOP_TIMEOUT)

        self.addCleanup(cleanUp)
        return output

    def test_sigintStopsQuietly(self) -> None:
        """
        SIGINT to dev.py stops twistd cleanly and dev.py exits with status 0
        and no traceback; while it ran it said where it listens, on
        loopback, and wrote no pid file.
        """
        pidFile = ROOT / "twistd.pid"
        hadPidFile = pidFile.exists()
        output = self.serve("--listen", "tcp:0:interface=127.0.0.1")
        match = output.waitFor(r"dev\.py: the demo is at http://127\.0\.0\.1:(\d+)/", START_TIMEOUT)
        port = int(match.group(1))
        self.assertIn(b"twisted_ws chat", fetchPage(port))
        if not hadPidFile:
            self.assertFalse(pidFile.exists(), "dev.py serve wrote twistd.pid")
        output.process.send_signal(signal.SIGINT)
        code = output.waitForEnd(STOP_TIMEOUT)
        self.assertEqual(code, 0, output.text)
        self.assertNotIn("Traceback", output.text)
        self.assertIn("Received SIGINT, shutting down.", output.text)
        self.assertIn("Server Shut Down.", output.text)

    def test_sigtermStopsQuietly(self) -> None:
        """
        SIGTERM to dev.py (as a process manager stops it) also stops twistd
        cleanly, with status 0.
        """
        output = self.serve("--listen", "tcp:0:interface=127.0.0.1")
        match = output.waitFor(r"dev\.py: the demo is at http://127\.0\.0\.1:(\d+)/", START_TIMEOUT)
        fetchPage(int(match.group(1)))
        output.process.send_signal(signal.SIGTERM)
        self.assertEqual(output.waitForEnd(STOP_TIMEOUT), 0, output.text)
        self.assertNotIn("Traceback", output.text)
        self.assertIn("Server Shut Down.", output.text)

    def test_secondServeNoPidfileAdvice(self) -> None:
        """
        A second C{serve} on the port of a running one fails, and twistd does
        not advise it to use C{--pidfile} (dev.py runs it without a pid
        file).
        """
        first = self.serve("--listen", "tcp:0:interface=127.0.0.1")
        port = first.waitFor(r"dev\.py: the demo is at http://127\.0\.0\.1:(\d+)/", START_TIMEOUT).group(1)
        second = self.serve("--listen", f"tcp:{port}:interface=127.0.0.1")
        code = second.waitForEnd(START_TIMEOUT)
        self.assertNotEqual(code, 0, second.text)
        self.assertNotIn("pidfile", second.text.lower())
        self.assertNotIn("dev.py: the demo is at", second.text)
        self.assertIsNone(first.process.poll(), "the first server stopped")

    def test_defaultPortBusy(self) -> None:
        """
        With port 8080 of loopback taken, C{serve} without C{--listen} says
        so in one line naming C{--listen}, starts no server and exits with
        status 1.
        """
        holder = socket.socket()
        self.addCleanup(holder.close)
        try:
            holder.bind(("127.0.0.1", 8080))
            holder.listen(1)
        except OSError:
            pass  # something else holds it already: the same situation
        output = self.serve()
        code = output.waitForEnd(START_TIMEOUT)
        self.assertEqual(code, 1, output.text)
        self.assertIn(
            "dev.py: port 8080 is in use: pass --listen tcp:PORT:interface=127.0.0.1", output.text
        )
        self.assertNotIn("serving chat", output.text)
        self.assertNotIn("Traceback", output.text)


def loadCopy(directory: Path, source: str | None = None) -> ModuleType:
    """
    Copy dev.py (or C{source}) into C{directory} and import the copy; its
    C{ROOT} and C{VENV} are in C{directory}.
    """
    path = directory / "dev.py"
    path.write_text(source if source is not None else DEV.read_text())
    spec = importlib.util.spec_from_file_location(f"devcopy{abs(hash(str(directory)))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def thisPythonConfig() -> str:
    """
    A C{pyvenv.cfg} as C{venv} writes it for the running interpreter.
    """
    base = getattr(sys, "_base_executable", sys.executable)
    version = ".".join(str(n) for n in sys.version_info[:3])
    return (
        f"home = {os.path.dirname(base)}\ninclude-system-site-packages = false\n"
        f"version = {version}\nexecutable = {os.path.realpath(base)}\n"
    )


class EnvironmentTests(TestCase):
    """
    How dev.py checks the interpreter and C{.venv}, on a copy of dev.py in a
    temporary directory.
    """

    def setUp(self) -> None:
        self.directory = Path(self.mktemp()).resolve()
        self.directory.mkdir(parents=True)

    def test_serveDefaultsToLoopback(self) -> None:
        """
        C{serve} without C{--listen} runs C{twistd -n --pidfile= websocket}
        on 127.0.0.1:8080, and one with C{--listen} passes it on instead;
        the URL it reports names the interface, or says that it listens on
        every interface.
        """
        dev = loadCopy(self.directory)
        runs = []
        dev.ensureEnvironment = lambda extras: None
        dev._portIsFree = lambda port: True
        dev.superviseServer = lambda argv, listens: runs.append((argv[1:], listens)) or 0
        dev.cmdServe([])
        dev.cmdServe(["--listen", "tcp:9000", "--app", "echo"])
        self.assertEqual(
            runs,
            [
                (["-n", "--pidfile=", "websocket", "--listen", "tcp:8080:interface=127.0.0.1"],
                 ["tcp:8080:interface=127.0.0.1"]),
                (["-n", "--pidfile=", "websocket", "--listen", "tcp:9000", "--app", "echo"], ["tcp:9000"]),
            ],
        )
        self.assertEqual(dev.describeListen("tcp:8080:interface=127.0.0.1", 8080), "http://127.0.0.1:8080/")
        self.assertEqual(dev.describeListen("tcp6:8080:interface=\\:\\:1", 8080), "http://[::1]:8080/")
        self.assertEqual(
            dev.describeListen("tcp:9000", 9000),
            "http://127.0.0.1:9000/ (listening on every interface, port 9000)",
        )

    def test_oldPythonRefused(self) -> None:
        """
        L{checkPython} names the Python needed and the one found.
        """
        dev = loadCopy(self.directory)
        error = self.assertRaises(dev.DevError, dev.checkPython, (3, 9, 2, "final", 0), "/usr/bin/python3")
        self.assertIn("needs Python 3.11 or newer", str(error))
        self.assertIn("this is Python 3.9.2 (/usr/bin/python3)", str(error))
        dev.checkPython((3, 11, 0), "/usr/bin/python3.11")
        dev.checkPython((3, 13, 1), "/usr/bin/python3.13")

    def test_oldPythonOneMessage(self) -> None:
        """
        Run with a Python older than it needs, dev.py says so in one message
        on standard error and exits with status 1, before creating
        C{.venv}: no traceback, nothing left to trap a later run.
        """
        source = DEV.read_text()
        self.assertIn("MINIMUM_PYTHON = (3, 11)", source)
        loadCopy(self.directory, source.replace("MINIMUM_PYTHON = (3, 11)", "MINIMUM_PYTHON = (99, 0)"))
        result = subprocess.run(
            [sys.executable, str(self.directory / "dev.py"), "test"],
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(result.returncode, 1, result)
        self.assertEqual(result.stdout, "")
        running = ".".join(str(n) for n in sys.version_info[:3])
        self.assertIn(f"dev.py: twisted_ws needs Python 99.0 or newer; this is Python {running}", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertFalse((self.directory / ".venv").exists())

    def test_venvOfThisPythonAccepted(self) -> None:
        """
        A complete C{.venv} made by the running interpreter has no problem.
        """
        dev = loadCopy(self.directory)
        venv = self.directory / ".venv"
        (venv / "bin").mkdir(parents=True)
        (venv / "pyvenv.cfg").write_text(thisPythonConfig())
        (venv / "bin" / "python").write_text("")
        self.assertEqual(dev.venvProblem(), "it has no pip (half-made)")
        (venv / "lib" / "python3.x" / "site-packages" / "pip").mkdir(parents=True)
        self.assertIsNone(dev.venvProblem())

    def test_halfMadeVenvFound(self) -> None:
        """
        A C{.venv} without C{pyvenv.cfg}, or without its python, is found
        half-made.
        """
        dev = loadCopy(self.directory)
        venv = self.directory / ".venv"
        venv.mkdir()
        self.assertEqual(dev.venvProblem(), "it has no pyvenv.cfg (half-made)")
        (venv / "pyvenv.cfg").write_text(thisPythonConfig())
        self.assertIn("half-made", dev.venvProblem())
        self.assertIn("python", dev.venvProblem())

    def test_venvOfAnotherPythonFound(self) -> None:
        """
        A C{.venv} whose C{pyvenv.cfg} names another version, or another
        interpreter of this version, is found stale, with both named.
        """
        dev = loadCopy(self.directory)
        venv = self.directory / ".venv"
        venv.mkdir()
        (venv / "pyvenv.cfg").write_text("home = /opt/old/bin\nversion = 3.9.2\n")
        running = ".".join(str(n) for n in sys.version_info[:3])
        self.assertEqual(dev.venvProblem(), f"it was made by Python 3.9.2, this is Python {running}")
        (venv / "pyvenv.cfg").write_text(
            f"home = /opt/other/bin\nversion = {running}\nexecutable = /opt/other/bin/python3\n"
        )
        base = getattr(sys, "_base_executable", sys.executable)
        self.assertEqual(dev.venvProblem(), f"it was made by the Python in /opt/other/bin, this is {base}")

    def test_staleVenvRebuilt(self) -> None:
        """
        L{ensureVenv} replaces a C{.venv} made by another interpreter with a
        complete one of the running interpreter, and says why.
        """
        dev = loadCopy(self.directory)
        venv = self.directory / ".venv"
        (venv / "bin").mkdir(parents=True)
        (venv / "pyvenv.cfg").write_text(
            "home = /opt/python3.9/bin\nversion = 3.9.2\nexecutable = /opt/python3.9/bin/python3.9\n"
        )
        (venv / "stale-marker").write_text("from the old interpreter")
        printed = []
        dev.print = lambda *a, **k: printed.append(" ".join(map(str, a)))  # the copy is thrown away
        dev.ensureVenv()
        self.assertFalse((venv / "stale-marker").exists())
        self.assertIsNone(dev.venvProblem())
        self.assertTrue((venv / "bin" / "python").exists())
        running = ".".join(str(n) for n in sys.version_info[:3])
        self.assertEqual(
            printed, [f"dev.py: rebuilding {venv}: it was made by Python 3.9.2, this is Python {running}"]
        )
        version = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sys, pip; print(sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(version.stdout.strip(), str(tuple(sys.version_info[:3])), version)
        shutil.rmtree(venv)


def writeInventory(path: Path, names: list[str]) -> None:
    """
    Write a Sphinx C{objects.inv} that lists C{names} as Python classes.
    """
    import zlib

    header = b"# Sphinx inventory version 2\n# Project: x\n# Version: 0\n# The remainder is zlib-compressed.\n"
    body = "".join(f"{name} py:class 1 reference.html#$ -\n" for name in names).encode()
    path.write_bytes(header + zlib.compress(body))


class DocsCheckTests(TestCase):
    """
    L{checkBuiltDocs}, which C{dev.py docs} runs on the built HTML.
    """

    def setUp(self) -> None:
        self.directory = Path(self.mktemp()).resolve()
        (self.directory / "benchmarks").mkdir(parents=True)
        (self.directory / "benchmarks" / "README.md").write_text("| a |\n|---|\n| 1 |\n")
        self.html = self.directory / "html"
        self.html.mkdir()
        self.dev = loadCopy(self.directory)
        self.dev.PYTHON = Path(sys.executable)
        import twisted_ws
        import twisted_ws.codec

        self.public = [f"twisted_ws.codec.{n}" for n in twisted_ws.codec.__all__] + [
            f"twisted_ws.{n}" for n in twisted_ws.__all__
            if getattr(twisted_ws.codec, n, None) is not getattr(twisted_ws, n)
        ]

    def test_renderedAndComplete(self) -> None:
        """
        A front page whose benchmark section has a table, and an inventory
        with every public name, pass.
        """
        (self.html / "index.html").write_text(
            '<section id="benchmark-results"><table><tr><td>1</td></tr></table></section>'
        )
        writeInventory(self.html / "objects.inv", self.public)
        self.assertEqual(self.dev.checkBuiltDocs(self.html), [])

    def test_rawMarkdownAndMissingNames(self) -> None:
        """
        A benchmark section of raw Markdown without a table, and an
        inventory that lacks a public name, are both reported.
        """
        (self.html / "index.html").write_text(
            '<section id="benchmark-results"><pre>| a |\n|---|\n| 1 |</pre></section>'
        )
        writeInventory(self.html / "objects.inv", [n for n in self.public if n != "twisted_ws.codec.Options"])
        self.assertEqual(
            self.dev.checkBuiltDocs(self.html),
            [
                "the benchmark section of index.html has no <table>",
                "the benchmark section of index.html shows raw Markdown ('|---|')",
                "public names missing from the API reference: twisted_ws.codec.Options",
            ],
        )
