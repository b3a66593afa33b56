"""
An application and its tests, written with twisted_ws.testing: run them with
``PYTHONPATH=. trial testing_shout`` in this folder (the project's test suite
runs them too).
"""

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws import WebSocketProtocol
from twisted_ws.testing import connectApplication


class Shout(WebSocketProtocol):
    """
    Greets, answers each text in capitals, closes on "bye", and asks after
    30 seconds of silence whether the client is still there.
    """

    idle = None

    def negotiationFinished(self):
        self.sendTextMessage("welcome")
        self.idle = self.factory.reactor.callLater(30, self.sendTextMessage, "still there?")

    def textMessageReceived(self, message):
        self.idle.reset(30)
        if message == "bye":
            self.loseConnection(1000, "see you")
        else:
            self.sendTextMessage(message.upper())

    def connectionLost(self, reason):
        if self.idle is not None and self.idle.active():
            self.idle.cancel()


class ShoutTests(SynchronousTestCase):
    def test_answersInCapitals(self):
        """
        The client is greeted, then gets each text back in capitals.
        """
        pair = connectApplication(Shout)
        self.assertEqual(pair.client.takeMessages(), ["welcome"])
        pair.client.sendTextMessage("hello")
        pair.client.sendTextMessage("again")
        pair.flush()
        self.assertEqual(pair.client.takeMessages(), ["HELLO", "AGAIN"])

    def test_bye(self):
        """
        "bye" closes the connection cleanly with 1000, started by the server.
        """
        pair = connectApplication(Shout)
        pair.client.sendTextMessage("bye")
        pair.flush()
        self.assertTrue(pair.disconnected)
        self.assertEqual(pair.client.closeCode, 1000)
        self.assertEqual(pair.client.closeReason, "see you")
        self.assertTrue(pair.client.wasClean)
        self.assertTrue(pair.client.closedByPeer)
        self.assertFalse(pair.serverLostReason.value.closedByPeer)

    def test_silence(self):
        """
        After 30 seconds without a message the server asks, and not before.
        """
        pair = connectApplication(Shout)
        pair.client.takeMessages()
        pair.advance(29)
        self.assertEqual(pair.client.takeMessages(), [])
        pair.advance(1)
        self.assertEqual(pair.client.takeMessages(), ["still there?"])

    def test_everyVersion(self):
        """
        The same works on every protocol version, bytes arriving one by one.
        """
        from twisted_ws import Version

        for version in Version:
            pair = connectApplication(Shout, version=version, oneByte=True)
            pair.client.sendTextMessage("hi")
            pair.flush()
            self.assertEqual(pair.client.takeMessages(), ["welcome", "HI"], version)
