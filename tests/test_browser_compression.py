"""
A browser test of compression: C{twistd websocket --compression} serves the
chat demo (on C{/ws}, with its page) and the echo application (on
C{/echo}); headless Chromium, driven through Playwright as in
L{tests.test_browser}, opens the demo page, which must say that compression
is on, and a script in the page checks that the browser negotiated
permessage-deflate (C{WebSocket.extensions}) and sends 200 KiB of JSON to
the echo application, which must come back whole.

Needs what L{tests.test_browser} needs (C{/usr/bin/chromium}, C{node} and
C{playwright-core}), and skips (or fails in CI) as it does when something is
missing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from twisted.trial.unittest import TestCase

try:
    from tests._support.browser import CHROMIUM, requireBrowser, runBrowserScript
    from tests._support.twistd import ROOT, Twistd
except ImportError:  # loaded as a file, without the source tree on the path
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from tests._support.browser import CHROMIUM, requireBrowser, runBrowserScript
    from tests._support.twistd import ROOT, Twistd

#: Seconds the whole browser script may take.
BROWSER_TIMEOUT = 180


SCRIPT = r"""
const { chromium } = require("playwright-core");
const [url, shotDir, userDataDir, executablePath] = process.argv.slice(2);

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
    const page = await context.newPage();
    await page.goto(url, { waitUntil: "load" });
    await page.fill("#name", "carol");
    await page.fill("#room", "squeeze");
    await page.click("#join-button");
    await page.waitForSelector("#text:not([disabled])");
    await page.waitForFunction(() => document.getElementById("compression").textContent === "on");
    // A long, compressible chat line (the input takes 2000 characters) crosses the chat too.
    const line = Array(150).fill("compressible").join(" ");
    await page.fill("#text", line);
    await page.click("#send-button");
    await page.waitForFunction((l) => document.getElementById("messages").textContent.includes(l), line);
    await page.screenshot({ path: shotDir + "/compression-chat.png" });
    const result = await page.evaluate(async () => {
      function open(path) {
        return new Promise((resolve, reject) => {
          const ws = new WebSocket("ws://" + location.host + path);
          ws.onopen = () => resolve(ws);
          ws.onerror = () => reject(new Error("could not open " + path));
        });
      }
      const chat = await open("/ws");
      const chatExtensions = chat.extensions;
      chat.close();
      const echo = await open("/echo");
      const rows = [];
      for (let i = 0; rows.join(",").length < 200 * 1024; i++) {
        rows.push(JSON.stringify({ type: "message", room: "lobby", from: "user" + (i % 37),
                                   text: "message number " + i + " about topic " + (i % 11), seq: i }));
      }
      const big = "[" + rows.join(",") + "]";
      const text = await new Promise((resolve) => {
        echo.onmessage = (event) => resolve(event.data);
        echo.send(big);
      });
      echo.binaryType = "arraybuffer";
      const bytes = new TextEncoder().encode(big);
      const back = await new Promise((resolve) => {
        echo.onmessage = (event) => resolve(new Uint8Array(event.data));
        echo.send(bytes);
      });
      let same = back.length === bytes.length;
      for (let i = 0; same && i < bytes.length; i++) same = back[i] === bytes[i];
      const echoExtensions = echo.extensions;
      echo.close(1000, "done");
      return { chatExtensions, echoExtensions, size: big.length,
               textBack: text === big, bytesBack: same };
    });
    result.compression = await page.evaluate(() => document.getElementById("compression").textContent);
    process.stdout.write("RESULT " + JSON.stringify(result) + "\n");
  } finally {
    await context.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
"""

CONFIG = """
static = {static}

[[app]]
name = "chat"
path = "/ws"

[[app]]
name = "echo"
path = "/echo"
"""


class BrowserCompressionTests(TestCase):
    """
    permessage-deflate between headless Chromium and C{twistd websocket
    --compression}.
    """

    def setUp(self) -> None:
        requireBrowser(self)

    def test_negotiatedAndLargeMessages(self) -> None:
        """
        The chat page says compression is on, the browser's WebSocket names
        permessage-deflate among its extensions on the chat and on the echo
        application, and 200 KiB of JSON comes back whole from the echo
        application as text and as bytes.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        configPath = os.path.join(directory, "websocket.toml")
        static = os.path.join(ROOT, "twisted_ws", "apps", "static")
        with open(configPath, "w") as f:
            f.write(CONFIG.format(static=json.dumps(static)))
        server = Twistd(["--compression", "--config", configPath,
                         "--listen", "tcp:0:interface=127.0.0.1"], directory)
        self.addCleanup(lambda: server.process.poll() is None and server.stop())
        [port] = server.waitForPorts()

        shotDir = os.path.abspath("browser")
        os.makedirs(shotDir, exist_ok=True)
        scriptPath = os.path.join(directory, "compression.js")
        with open(scriptPath, "w") as f:
            f.write(SCRIPT)
        userDataDir = tempfile.mkdtemp(prefix="twisted-ws-chromium-")
        self.addCleanup(shutil.rmtree, userDataDir, True)

        run = runBrowserScript(
            ["node", scriptPath, f"http://127.0.0.1:{port}/", shotDir, userDataDir, CHROMIUM],
            timeout=BROWSER_TIMEOUT,
        )
        if run.returncode != 0:
            self.fail(f"the browser script failed:\n{run.stdout}\n{run.stderr}\n{server.output}")
        [line] = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
        result = json.loads(line[len("RESULT "):])
        self.assertEqual(result["compression"], "on")
        self.assertIn("permessage-deflate", result["chatExtensions"])
        self.assertIn("permessage-deflate", result["echoExtensions"])
        self.assertGreaterEqual(result["size"], 200 * 1024)
        self.assertTrue(result["textBack"])
        self.assertTrue(result["bytesBack"])
        self.assertNotIn("Traceback", server.output)
