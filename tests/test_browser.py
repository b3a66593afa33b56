"""
A browser test of the chat demo: C{twistd websocket} runs in a subprocess,
headless Chromium (Debian's C{/usr/bin/chromium}) opens the demo page in two
tabs through Playwright (the npm package C{playwright-core}, which drives an
installed browser and downloads nothing), each tab joins the same room and
sends a message, and the test checks what each page shows: the messages of
both, the list of connected users, and the protocol version.

Screenshots are saved under C{browser/} in the test run's directory
(trial's C{_trial_temp}).

Needs: C{/usr/bin/chromium}, C{node}, and C{playwright-core} where node finds
it (C{NODE_PATH}, or C{.ci/node/node_modules} of the source tree). Outside
CI (C{CI} unset) the test skips when one is missing; in CI it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile

from twisted.trial.unittest import SkipTest, TestCase

try:
    from tests._support.twistd import ROOT, Twistd
except ImportError:  # loaded as a file, without the source tree on the path
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from tests._support.twistd import ROOT, Twistd

CHROMIUM = "/usr/bin/chromium"

#: Seconds the whole browser script may take.
BROWSER_TIMEOUT = 180

SCRIPT = r"""
const { chromium } = require("playwright-core");
const [url, shotDir, userDataDir, executablePath] = process.argv.slice(2);

async function readPage(page) {
  return page.evaluate(() => ({
    status: document.getElementById("status").textContent,
    version: document.getElementById("version").textContent,
    subprotocol: document.getElementById("subprotocol").textContent,
    compression: document.getElementById("compression").textContent,
    room: document.getElementById("room-title").textContent,
    users: [...document.querySelectorAll("#users li")].map((li) => li.textContent),
    messages: [...document.querySelectorAll("#messages li")].map((li) => ({
      kind: li.className,
      from: li.querySelector(".from") ? li.querySelector(".from").textContent : null,
      text: li.lastChild.textContent,
    })),
  }));
}

async function join(page, name) {
  await page.goto(url, { waitUntil: "load" });
  await page.fill("#name", name);
  await page.fill("#room", "demo");
  await page.click("#join-button");
  await page.waitForSelector("#text:not([disabled])");
}

(async () => {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    timeout: 60000,
    viewport: { width: 900, height: 640 },
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  context.setDefaultTimeout(20000);
  try {
    const alice = await context.newPage();
    const bob = await context.newPage();
    await join(alice, "alice");
    await join(bob, "bob");
    // Each tab sees both users.
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => document.querySelectorAll("#users li").length === 2);
    }
    await alice.fill("#text", "hello from alice");
    await alice.click("#send-button");
    await bob.waitForFunction(() => document.getElementById("messages").textContent.includes("hello from alice"));
    await bob.fill("#text", "hello from bob");
    await bob.press("#text", "Enter");
    await alice.waitForFunction(() => document.getElementById("messages").textContent.includes("hello from bob"));
    await alice.screenshot({ path: shotDir + "/chat-alice.png" });
    await bob.screenshot({ path: shotDir + "/chat-bob.png" });
    const result = { alice: await readPage(alice), bob: await readPage(bob) };
    process.stdout.write("RESULT " + JSON.stringify(result) + "\n");
  } finally {
    await context.close();
  }
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + "\n");
  process.exit(1);
});
"""


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


def runBrowserScript(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """
    Run the browser script in a session of its own, so that if it overruns
    L{BROWSER_TIMEOUT} the browser it started is killed with it.
    """
    process = subprocess.Popen(
        argv,
        env={**os.environ, "NODE_PATH": nodePath()},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=BROWSER_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=30)
        stderr += f"\n(killed after {BROWSER_TIMEOUT} seconds)"
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


class BrowserTests(TestCase):
    """
    The chat demo page in a real browser.
    """

    def setUp(self) -> None:
        missing = missingTools()
        if missing:
            message = "the browser test needs " + ", ".join(missing)
            if os.environ.get("CI"):
                self.fail(message)
            raise SkipTest(message)

    def test_twoTabsChat(self) -> None:
        """
        Two tabs of the demo page join one room, each sends a message, and
        each shows the other's message, both users and the protocol version.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        twistd = Twistd(["--listen", "tcp:0:interface=127.0.0.1"], directory)
        self.addCleanup(lambda: twistd.process.poll() is None and twistd.stop())
        [port] = twistd.waitForPorts()

        shotDir = os.path.abspath("browser")
        os.makedirs(shotDir, exist_ok=True)
        scriptPath = os.path.join(directory, "chat.js")
        with open(scriptPath, "w") as f:
            f.write(SCRIPT)
        userDataDir = tempfile.mkdtemp(prefix="twisted-ws-chromium-")
        self.addCleanup(shutil.rmtree, userDataDir, True)

        run = runBrowserScript(
            ["node", scriptPath, f"http://127.0.0.1:{port}/", shotDir, userDataDir, CHROMIUM]
        )
        if run.returncode != 0:
            twistd.stop()
            self.fail(f"the browser script failed:\n{run.stdout}\n{run.stderr}\n{twistd.output}")
        [line] = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
        result = json.loads(line[len("RESULT "):])

        for me, other in (("alice", "bob"), ("bob", "alice")):
            page = result[me]
            self.assertEqual(page["status"], "connected")
            self.assertEqual(page["version"], "rfc6455")
            self.assertEqual(page["subprotocol"], "none")
            self.assertEqual(page["compression"], "off")
            self.assertEqual(page["room"], f"Room demo as {me}")
            self.assertEqual(page["users"], ["alice", "bob"])
            said = [(m["from"], m["text"]) for m in page["messages"] if m["from"] is not None]
            self.assertEqual(
                said, [("alice", "hello from alice"), ("bob", "hello from bob")], page
            )
            theirs = [m for m in page["messages"] if m["from"] == other]
            self.assertEqual([m["kind"] for m in theirs], ["theirs"])

        for name in ("chat-alice.png", "chat-bob.png"):
            with open(os.path.join(shotDir, name), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        code = twistd.stop()
        self.assertNotIn("Traceback", twistd.output)
        self.assertIn(code, (0, -15))
