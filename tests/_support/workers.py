"""
What the tests of C{twistd websocket --workers} share: the application
that says which worker serves a client, and how long a worker may take.
"""

from __future__ import annotations

import os
from typing import Any

#: Seconds allowed for a worker to start, answer, log a line or be
#: restarted.
WAIT_TIMEOUT = 30.0

#: An application (the source of a module) that tells each client which
#: process serves it, then echoes its text messages.
PID_APP = '''
import os
from twisted_ws import WebSocketProtocol

class Pid(WebSocketProtocol):
    def negotiationFinished(self):
        self.sendTextMessage(str(os.getpid()))

    def textMessageReceived(self, message):
        self.sendTextMessage(message)
'''


def pidAppDirectory(testCase: Any) -> str:
    """
    Make a temporary directory for C{testCase} that holds the application
    L{PID_APP} as C{pidapp.py}, for C{--app pidapp:Pid}.

    @return: the directory's absolute path.
    """
    directory = os.path.abspath(testCase.mktemp())
    os.makedirs(directory)
    with open(os.path.join(directory, "pidapp.py"), "w") as f:
        f.write(PID_APP)
    return directory
