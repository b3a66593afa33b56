#!/usr/bin/env python3
"""
A WebSocket echo server for the conformance run, with settings that the
Autobahn TestSuite needs.

    python echo_server.py --port 9001                    # twisted_ws
    python echo_server.py --port 9001 --impl autobahn    # a reference peer

The default implementation is twisted_ws, built on its public API
(L{twisted_ws.WebSocketServerFactory}).  C{--impl autobahn} serves the same
echo with Autobahn on Twisted, so that the runner itself can be checked (and
results compared) against an implementation that is known to pass the suite.

Settings the suite needs from any echo server under test:

  - messages and frames up to 16 MiB (cases 9.1.6 and 9.2.6 send one 16 MiB
    frame), so C{maxMessageSize} and C{maxFrameSize} of at least 16777216;
  - no keepalive pings (an unsolicited ping shows up in the events a case
    compares, and the case fails), so C{pingInterval=None};
  - automatic pongs (cases 2.x), so C{autoPong=True}.

Run with the project's virtualenv (C{.venv/bin/python}); C{compliance/run}
does that.
"""

from __future__ import annotations

import argparse
import sys

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.python import log

#: The largest message in the suite (cases 9.1.6 and 9.2.6), in bytes.
SUITE_MAX_MESSAGE = 16 * 2**20


def twistedWsFactory():
    """
    Build a twisted_ws echo factory with the settings the suite needs.

    @return: a L{twisted_ws.WebSocketServerFactory}.
    """
    from twisted_ws import Options, WebSocketProtocol, WebSocketServerFactory

    class Echo(WebSocketProtocol):
        """
        Send every message back as it came.
        """

        def textMessageReceived(self, message):
            self.transport.sendTextMessage(message)

        def bytesMessageReceived(self, data):
            self.transport.sendBytesMessage(data)

    options = Options(
        maxMessageSize=SUITE_MAX_MESSAGE,
        maxFrameSize=SUITE_MAX_MESSAGE,
        pingInterval=None,
        autoPong=True,
    )
    return WebSocketServerFactory(Echo, options=options)


def autobahnFactory():
    """
    Build an Autobahn-on-Twisted echo factory that accepts permessage-deflate.

    @return: an C{autobahn.twisted.websocket.WebSocketServerFactory}.
    """
    from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
    from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept

    class Echo(WebSocketServerProtocol):
        """
        Send every message back as it came.
        """

        def onMessage(self, payload, isBinary):
            self.sendMessage(payload, isBinary)

    def acceptDeflate(offers):
        for offer in offers:
            if isinstance(offer, PerMessageDeflateOffer):
                return PerMessageDeflateOfferAccept(offer)
        return None

    factory = WebSocketServerFactory()
    factory.protocol = Echo
    factory.setProtocolOptions(
        maxFramePayloadSize=SUITE_MAX_MESSAGE,
        maxMessagePayloadSize=SUITE_MAX_MESSAGE,
        perMessageCompressionAccept=acceptDeflate,
        autoPingInterval=0,
    )
    return factory


FACTORIES = {"twisted_ws": twistedWsFactory, "autobahn": autobahnFactory}


def main(argv: list[str]) -> int:
    """
    Listen on 127.0.0.1 and echo until killed.

    @param argv: command-line arguments (without the program name).
    @return: the process exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--impl", choices=sorted(FACTORIES), default="twisted_ws")
    parser.add_argument("--verbose", action="store_true", help="log to stderr")
    args = parser.parse_args(argv)
    if args.verbose:
        log.startLogging(sys.stderr)
    factory = FACTORIES[args.impl]()
    endpoint = serverFromString(reactor, f"tcp:{args.port}:interface={args.interface}")
    d = endpoint.listen(factory)

    def failed(reason):
        sys.stderr.write(f"echo_server: cannot listen: {reason.getErrorMessage()}\n")
        reactor.stop()

    d.addErrback(failed)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
