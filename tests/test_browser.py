"""
A browser test of the chat demo: C{twistd websocket} runs in a subprocess,
headless Chromium (Debian's C{/usr/bin/chromium}) opens the demo page in two
tabs through Playwright (the npm package C{playwright-core}, which drives an
installed browser and downloads nothing), each tab joins the same room and
sends a message, and the test checks what each page shows: the messages of
both, the list of people in the room, and the protocol version. Then the
server is stopped under the pages and started again on the same port: each
page must say plainly that the connection was lost, forget the room's
members, and reconnect and rejoin by itself.

Screenshots are saved under C{browser/} in the test run's directory
(trial's C{_trial_temp}): C{chat-alice.png}, C{chat-bob.png},
C{chat-lost.png} (the server is down) and C{chat-rejoined.png}.

Needs: C{/usr/bin/chromium}, C{node}, and C{playwright-core} where node finds
it (C{NODE_PATH}, or C{.ci/node/node_modules} of the source tree). Outside
CI (C{CI} unset) the test skips when one is missing; in CI it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile

from twisted.trial.unittest import TestCase

try:
    from tests._support.browser import CHROMIUM, requireBrowser, runBrowserScript
    from tests._support.twistd import Twistd
except ImportError:  # loaded as a file, without the source tree on the path
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from tests._support.browser import CHROMIUM, requireBrowser, runBrowserScript
    from tests._support.twistd import Twistd

#: Seconds the whole browser script may take.
BROWSER_TIMEOUT = 240

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
    banner: document.getElementById("banner").hidden ? null : document.getElementById("banner").textContent,
    canSend: !document.getElementById("text").disabled,
    countLabel: document.querySelector("aside h2").textContent,
    users: [...document.querySelectorAll("#users li")].map((li) => li.textContent),
    messages: [...document.querySelectorAll("#messages li")].map((li) => ({
      kind: li.className,
      from: li.querySelector(".from") ? li.querySelector(".from").textContent : null,
      text: li.lastChild.textContent,
    })),
  }));
}

// Tell the test what to do next ("PHASE name" on standard output) and go on
// once it answers "done name" on standard input.
const answers = [];
let wakeUp = null;
let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  pending += chunk;
  let i;
  while ((i = pending.indexOf("\n")) >= 0) {
    answers.push(pending.slice(0, i));
    pending = pending.slice(i + 1);
    if (wakeUp) { const w = wakeUp; wakeUp = null; w(); }
  }
});
async function ask(what) {
  process.stdout.write("PHASE " + what + "\n");
  while (answers.length === 0) await new Promise((resolve) => { wakeUp = resolve; });
  const answer = answers.shift();
  if (answer !== "done " + what) throw new Error("the test answered " + answer + " to " + what);
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
  const failedRequests = [];
  context.on("response", (response) => {
    if (response.status() >= 400) failedRequests.push(response.status() + " " + response.url());
  });
  try {
    const alice = await context.newPage();
    const bob = await context.newPage();
    await join(alice, "alice");
    await join(bob, "bob");
    // Each tab sees both users.
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => document.querySelectorAll("#users li").length === 2);
    }
    // Joining the room one is in again changes nothing.
    await alice.click("#join-button");
    await alice.fill("#text", "hello from alice");
    await alice.click("#send-button");
    await bob.waitForFunction(() => document.getElementById("messages").textContent.includes("hello from alice"));
    await bob.fill("#text", "hello from bob");
    await bob.press("#text", "Enter");
    await alice.waitForFunction(() => document.getElementById("messages").textContent.includes("hello from bob"));
    await alice.screenshot({ path: shotDir + "/chat-alice.png" });
    await bob.screenshot({ path: shotDir + "/chat-bob.png" });
    const chat = { alice: await readPage(alice), bob: await readPage(bob) };

    // The server goes away: both pages say so.
    await ask("stop-server");
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => {
        const banner = document.getElementById("banner");
        return !banner.hidden && banner.textContent.includes("Connection to the server lost");
      });
    }
    const lost = { alice: await readPage(alice), bob: await readPage(bob) };
    await alice.screenshot({ path: shotDir + "/chat-lost.png" });

    // It comes back: both pages reconnect and rejoin by themselves.
    await ask("start-server");
    for (const page of [alice, bob]) {
      await page.waitForFunction(() =>
        document.getElementById("banner").hidden &&
        !document.getElementById("text").disabled &&
        document.querySelectorAll("#users li").length === 2, null, { timeout: 90000 });
    }
    await alice.fill("#text", "back again");
    await alice.press("#text", "Enter");
    await bob.waitForFunction(() => document.getElementById("messages").textContent.includes("back again"));
    await alice.screenshot({ path: shotDir + "/chat-rejoined.png" });
    const rejoined = { alice: await readPage(alice), bob: await readPage(bob) };
    process.stdout.write("RESULT " + JSON.stringify({ chat, lost, rejoined, failedRequests }) + "\n");
  } finally {
    await context.close();
  }
})().then(() => process.exit(0), (error) => {
  process.stderr.write(String(error && error.stack || error) + "\n");
  process.exit(1);
});
"""


class BrowserTests(TestCase):
    """
    The chat demo page in a real browser.
    """

    def setUp(self) -> None:
        requireBrowser(self)

    def test_twoTabsChatAndReconnect(self) -> None:
        """
        Two tabs of the demo page join one room, each sends a message, and
        each shows the other's message, both users and the protocol version;
        when the server stops, each page says the connection was lost and
        forgets the room's members; when it starts again on the same port,
        each page reconnects and rejoins the room by itself, and chatting
        works again. No request of the pages fails (no favicon 404).
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        servers = [Twistd(["--listen", "tcp:0:interface=127.0.0.1"], directory)]
        self.addCleanup(lambda: [t.stop() for t in servers if t.process.poll() is None])
        [port] = servers[0].waitForPorts()

        def stopServer() -> None:
            code = servers[-1].stop()
            self.assertNotIn("Traceback", servers[-1].output)
            self.assertIn(code, (0, -signal.SIGTERM), servers[-1].output)

        def startServer() -> None:
            servers.append(Twistd(["--listen", f"tcp:{port}:interface=127.0.0.1"], directory))
            self.assertEqual(servers[-1].waitForPorts(), [port])

        shotDir = os.path.abspath("browser")
        os.makedirs(shotDir, exist_ok=True)
        scriptPath = os.path.join(directory, "chat.js")
        with open(scriptPath, "w") as f:
            f.write(SCRIPT)
        userDataDir = tempfile.mkdtemp(prefix="twisted-ws-chromium-")
        self.addCleanup(shutil.rmtree, userDataDir, True)

        run = runBrowserScript(
            ["node", scriptPath, f"http://127.0.0.1:{port}/", shotDir, userDataDir, CHROMIUM],
            {"stop-server": stopServer, "start-server": startServer},
            timeout=BROWSER_TIMEOUT,
        )
        if run.returncode != 0:
            outputs = "\n".join(t.output for t in servers)
            self.fail(f"the browser script failed:\n{run.stdout}\n{run.stderr}\n{outputs}")
        [line] = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
        result = json.loads(line[len("RESULT "):])
        self.assertEqual(result["failedRequests"], [])

        for me, other in (("alice", "bob"), ("bob", "alice")):
            page = result["chat"][me]
            self.assertEqual(page["status"], "connected")
            self.assertEqual(page["version"], "rfc6455")
            self.assertEqual(page["subprotocol"], "none")
            self.assertEqual(page["compression"], "off")
            self.assertEqual(page["room"], f"Room demo as {me}")
            self.assertEqual(page["users"], ["alice", "bob"])
            self.assertEqual(page["countLabel"], "People in this room: 2")
            self.assertIsNone(page["banner"])
            said = [(m["from"], m["text"]) for m in page["messages"] if m["from"] is not None]
            self.assertEqual(
                said, [("alice", "hello from alice"), ("bob", "hello from bob")], page
            )
            theirs = [m for m in page["messages"] if m["from"] == other]
            self.assertEqual([m["kind"] for m in theirs], ["theirs"])
            notices = [m["text"] for m in page["messages"] if m["kind"] == "notice"]
            self.assertEqual(notices.count("You joined demo."), 1, notices)

            lost = result["lost"][me]
            self.assertIn("Connection to the server lost", lost["banner"])
            self.assertIn("Reconnecting", lost["banner"])
            self.assertEqual(lost["users"], [])
            self.assertEqual(lost["countLabel"], "People in this room: 0")
            self.assertEqual(lost["room"], "Not connected (was in room demo)")
            self.assertFalse(lost["canSend"])
            self.assertIn("error", [m["kind"] for m in lost["messages"]])

            back = result["rejoined"][me]
            self.assertEqual(back["status"], "connected")
            self.assertIsNone(back["banner"])
            self.assertTrue(back["canSend"])
            self.assertEqual(back["room"], f"Room demo as {me}")
            self.assertEqual(sorted(back["users"]), ["alice", "bob"])  # in the order they came back
            notices = [m["text"] for m in back["messages"] if m["kind"] == "notice"]
            self.assertEqual(notices.count("Reconnected: you rejoined demo."), 1, notices)
            self.assertEqual(notices.count("You joined demo."), 1, notices)
            self.assertIn(("alice", "back again"),
                          [(m["from"], m["text"]) for m in back["messages"]])

        for name in ("chat-alice.png", "chat-bob.png", "chat-lost.png", "chat-rejoined.png"):
            with open(os.path.join(shotDir, name), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        stopServer()
