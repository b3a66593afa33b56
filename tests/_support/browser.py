"""
What the browser tests share: finding Debian's Chromium, node and
C{playwright-core}, skipping (or, in CI, failing) when one is missing, and
running a Playwright script with a bound on its time.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from .twistd import ROOT

CHROMIUM = "/usr/bin/chromium"


def nodePath() -> str:
    """
    Where node looks for C{playwright-core}: C{NODE_PATH} and the source
    tree's C{.ci/node/node_modules}.
    """
    paths = [p for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p]
    paths.append(os.path.join(ROOT, ".ci", "node", "node_modules"))
    return os.pathsep.join(paths)


def missingTools() -> list[str]:
    """
    What this test needs and this machine lacks.
    """
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    node = shutil.which("node")
    if node is None:
        missing.append("node (apt-get install nodejs npm)")
    else:
        found = subprocess.run(
            [node, "-e", "require.resolve('playwright-core')"],
            env={**os.environ, "NODE_PATH": nodePath()},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
        if found.returncode != 0:
            missing.append("playwright-core (npm install --prefix .ci/node playwright-core)")
    return missing


def runBrowserScript(
    argv: list[str],
    phases: dict[str, Callable[[], None]] | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """
    Run the browser script in a session of its own, so that if it overruns
    C{timeout} seconds the browser it started is killed with it.

    When the script prints C{PHASE NAME}, run C{phases[NAME]} and answer
    C{done NAME} on its standard input.
    """
    phases = phases or {}
    process = subprocess.Popen(
        argv,
        env={**os.environ, "NODE_PATH": nodePath()},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    stdin, stdoutPipe, stderrPipe = process.stdin, process.stdout, process.stderr
    assert stdin is not None and stdoutPipe is not None and stderrPipe is not None
    lines: queue.Queue[str | None] = queue.Queue()
    errors: list[str] = []

    def readOut() -> None:
        for line in stdoutPipe:
            lines.put(line)
        lines.put(None)

    def readErr() -> None:
        errors.extend(stderrPipe)

    readers = [threading.Thread(target=f, daemon=True) for f in (readOut, readErr)]
    for reader in readers:
        reader.start()
    stdout: list[str] = []
    deadline = time.monotonic() + timeout
    timedOut = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timedOut = True
            break
        try:
            line = lines.get(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        if line is None:
            break
        stdout.append(line)
        if line.startswith("PHASE "):
            name = line.split()[1]
            phases[name]()
            stdin.write(f"done {name}\n")
            stdin.flush()
    if timedOut:
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    for reader in readers:
        reader.join(timeout=10)
    stdin.close()
    stderr = "".join(errors) + (f"\n(killed after {timeout} seconds)" if timedOut else "")
    return subprocess.CompletedProcess(argv, process.returncode, "".join(stdout), stderr)


def requireBrowser(testCase: SynchronousTestCase) -> None:
    """
    Skip C{testCase} when the browser tools are missing, or fail it in CI
    (C{CI} set), where they must be there.
    """
    missing = missingTools()
    if missing:
        message = "the browser test needs " + ", ".join(missing)
        if os.environ.get("CI"):
            testCase.fail(message)
        raise SkipTest(message)
