"""
What the tests of C{twistd websocket --workers} share: the application
that says which worker serves a client, and how long a worker may take.
"""

from __future__ import annotations

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
