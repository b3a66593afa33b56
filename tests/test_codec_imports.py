"""
Tests that L{twisted_ws.codec} stays free of Twisted: importing it loads
neither Twisted nor zope.interface.
"""

from __future__ import annotations

import json
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

_PROBE = """
import json, sys
import twisted_ws.codec
from twisted_ws.codec import ServerConnection, ClientConnection, Options
conn = ClientConnection("h")
server = ServerConnection(Options())
server.receiveData(conn.dataToSend())
server.accept()
conn.receiveData(server.dataToSend())
conn.sendText("x")
server.receiveData(conn.dataToSend())
print(json.dumps(sorted(sys.modules)))
"""


def loadedModules(code: str) -> list[str]:
    """
    Run C{code} in a fresh interpreter and return the module names it
    printed as JSON on its last line.
    """
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


class ImportTests(SynchronousTestCase):
    """
    What importing and using the codec loads.
    """

    def test_noTwisted(self) -> None:
        """
        Importing and using C{twisted_ws.codec} in a fresh interpreter loads
        no module named C{twisted} or C{twisted.*}.
        """
        modules = loadedModules(_PROBE)
        self.assertIn("twisted_ws.codec", modules)
        self.assertEqual(
            [m for m in modules if m == "twisted" or m.startswith("twisted.")], []
        )

    def test_noZope(self) -> None:
        """
        Importing and using C{twisted_ws.codec} loads no C{zope} module.
        """
        modules = loadedModules(_PROBE)
        self.assertEqual([m for m in modules if m == "zope" or m.startswith("zope.")], [])

    def test_probeDetectsTwisted(self) -> None:
        """
        The check sees Twisted when it is imported, so its silence above
        means something.
        """
        modules = loadedModules("import json, sys, twisted.internet.defer\n"
                                "print(json.dumps(sorted(sys.modules)))")
        self.assertIn("twisted", modules)
        self.assertIn("zope.interface", modules)
