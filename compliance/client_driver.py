#!/usr/bin/env python3
"""
Drive twisted_ws's WebSocket client through the Autobahn TestSuite's fuzzing
server (kosoku in fuzzingserver mode).

Run by C{compliance/run client} with the project's virtualenv:

    python client_driver.py --url ws://127.0.0.1:PORT [--compression]

It asks the fuzzing server how many cases it serves (C{/getCaseCount}), then
runs each case in turn (C{/runCase?case=N&agent=twisted_ws}), echoing every
message back as it came (text as text, binary as binary), and at last asks for
the reports (C{/updateReports?agent=twisted_ws}), after which the fuzzing
server writes them and exits.  Every wait is bounded: each case by
C{--case-timeout}, the whole run by C{--deadline}.

Exit status: 0 when every case ran to its end, 3 when the run could not
complete (no case count, the deadline passed, the reports were not asked
for).  Whether the cases I{passed} is for the fuzzing server's reports to say.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any
from urllib.parse import quote, urlencode

#: The largest message in the suite (cases 9.1.6 and 9.2.6), in bytes.
SUITE_MAX_MESSAGE = 16 * 2**20

#: The agent name the reports are filed under.
AGENT = "twisted_ws"

#: Exit statuses (as compliance/run uses them).
EXIT_OK, EXIT_INCOMPLETE = 0, 3


def caseCountURL(base: str) -> str:
    """
    @param base: the fuzzing server's URL, such as C{ws://127.0.0.1:9001}.
    @return: the URL that answers with the number of cases.
    """
    return base.rstrip("/") + "/getCaseCount"


def runCaseURL(base: str, case: int, agent: str = AGENT) -> str:
    """
    @param base: the fuzzing server's URL.
    @param case: the case's number, from 1.
    @param agent: the agent name the result is filed under.
    @return: the URL that runs that case.
    """
    if case < 1:
        raise ValueError(f"case numbers start at 1, not {case}")
    return base.rstrip("/") + "/runCase?" + urlencode({"case": case, "agent": agent}, quote_via=quote)


def updateReportsURL(base: str, agent: str = AGENT) -> str:
    """
    @param base: the fuzzing server's URL.
    @param agent: the agent name whose reports to write.
    @return: the URL that makes the fuzzing server write its reports.
    """
    return base.rstrip("/") + "/updateReports?" + urlencode({"agent": agent}, quote_via=quote)


def parseCaseCount(text: str) -> int:
    """
    Read the fuzzing server's answer to C{/getCaseCount}.

    @param text: the text message it sent.
    @return: the number of cases.
    @raise ValueError: if the text is not a non-negative whole number.
    """
    stripped = text.strip()
    if not stripped.isdigit():
        raise ValueError(f"the case count is not a number: {text[:80]!r}")
    return int(stripped)


def clientOptions() -> Any:
    """
    The client's settings for the suite: messages and frames up to 16 MiB, no
    keepalive pings (an unsolicited ping is an event a case compares), and
    automatic pongs.

    @return: a L{twisted_ws.Options}.
    """
    from twisted_ws import Options

    return Options(
        maxMessageSize=SUITE_MAX_MESSAGE,
        maxFrameSize=SUITE_MAX_MESSAGE,
        pingInterval=None,
        autoPong=True,
    )


def suiteDeflate() -> Any:
    """
    The client's permessage-deflate for the suite (C{--compression}).

    It offers C{permessage-deflate; client_no_context_takeover;
    client_max_window_bits}, as Autobahn's own client does: it lets the
    server cap the client's window (C{client_max_window_bits=N} in the
    answer) and commits the client to compressing every message on its own
    (RFC 7692 section 7.1.1.2), whether or not the answer names
    C{client_no_context_takeover}.  The fuzzing server of cases 13.2.x,
    13.5.x and 13.6.x accepts only an offer with C{client_no_context_takeover};
    the library's default offer, without it, keeps context takeover (a better
    ratio) and leaves those cases UNIMPLEMENTED.  Whatever else the server
    answers with (C{server_no_context_takeover}, C{server_max_window_bits=N})
    the client takes as RFC 7692 says.

    @return: a L{twisted_ws.codec.PerMessageDeflate}.
    """
    from twisted_ws.codec import PerMessageDeflate

    return PerMessageDeflate(clientNoContextTakeover=True)


def makeProtocols() -> tuple[type, type]:
    """
    Build the two protocol classes the driver uses.

    @return: the echoing protocol for the cases and the protocol that waits
        for one text message (the case count).
    """
    from twisted.internet import defer

    from twisted_ws import WebSocketProtocol

    class Echo(WebSocketProtocol):
        """
        Send every message back as it came; C{done} fires when the
        connection ends.
        """

        def __init__(self) -> None:
            self.done: defer.Deferred[None] = defer.Deferred()

        def textMessageReceived(self, message: str) -> None:
            self.transport.sendTextMessage(message)

        def bytesMessageReceived(self, data: bytes) -> None:
            self.transport.sendBytesMessage(data)

        def connectionLost(self, reason: Any) -> None:
            if not self.done.called:
                self.done.callback(None)

    class Listener(Echo):
        """
        Keep the first text message (and echo nothing).
        """

        def __init__(self) -> None:
            super().__init__()
            self.messages: list[str] = []

        def textMessageReceived(self, message: str) -> None:
            self.messages.append(message)

        def bytesMessageReceived(self, data: bytes) -> None:
            pass

    return Echo, Listener


async def drive(reactor: Any, args: argparse.Namespace) -> int:
    """
    Run every case the fuzzing server serves, one after the other.

    @param reactor: the reactor.
    @param args: the parsed command line.
    @return: the exit status.
    """
    from twisted.internet import defer

    from twisted_ws import WebSocketClientEndpoint, WebSocketClientFactory
    Echo, Listener = makeProtocols()
    options = clientOptions()
    extensions = [suiteDeflate()] if args.compression else []
    deadline = time.monotonic() + args.deadline

    async def session(url: str, protocol: type, limit: float) -> Any:
        endpoint = WebSocketClientEndpoint.new(reactor, url, options=options, extensions=extensions)
        connecting = endpoint.connect(WebSocketClientFactory(protocol))
        connecting.addTimeout(limit, reactor)
        proto = await connecting
        waiting = proto.done
        waiting.addTimeout(limit, reactor)
        try:
            await waiting
        except defer.TimeoutError:
            print(f"driver: {url}: still open after {limit:.0f} s, ending it", flush=True)
            proto.transport.loseConnection(1001, "the case took too long")
        return proto

    try:
        listener = await session(caseCountURL(args.url), Listener, 30.0)
        count = parseCaseCount(listener.messages[0] if listener.messages else "")
    except Exception as e:
        print(f"driver: cannot learn the number of cases: {e!r}", flush=True)
        return EXIT_INCOMPLETE
    print(f"driver: {count} cases", flush=True)
    for case in range(1, count + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            print(f"driver: time limit reached before case {case} of {count}", flush=True)
            return EXIT_INCOMPLETE
        try:
            await session(runCaseURL(args.url, case), Echo, min(args.case_timeout, remaining))
        except Exception as e:
            # The case's report says what went wrong; carry on with the next.
            print(f"driver: case {case}: {type(e).__name__}: {e}", flush=True)
        if case % 50 == 0:
            print(f"driver: {case} of {count} cases run", flush=True)
    try:
        await session(updateReportsURL(args.url), Listener, 60.0)
    except Exception as e:
        print(f"driver: asking for the reports failed: {e!r}", flush=True)
        return EXIT_INCOMPLETE
    print("driver: all cases run, reports asked for", flush=True)
    return EXIT_OK


def buildParser() -> argparse.ArgumentParser:
    """
    @return: the command-line parser.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--url", required=True, help="the fuzzing server, e.g. ws://127.0.0.1:9001")
    parser.add_argument("--compression", action="store_true",
                        help="offer permessage-deflate (see suiteDeflate)")
    parser.add_argument("--case-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="limit for one case (default: %(default)s)")
    parser.add_argument("--deadline", type=float, default=600.0, metavar="SECONDS",
                        help="limit for the whole run (default: %(default)s)")
    return parser


def main(argv: list[str]) -> int:
    """
    @param argv: the arguments after the program name.
    @return: the exit status.
    """
    from twisted.internet import defer, task

    args = buildParser().parse_args(argv)
    status: list[int] = []

    async def run(reactor: Any) -> None:
        status.append(await drive(reactor, args))

    try:
        task.react(lambda reactor: defer.ensureDeferred(run(reactor)))
    except SystemExit as e:
        if e.code not in (0, None):
            return EXIT_INCOMPLETE
    return status[0] if status else EXIT_INCOMPLETE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
