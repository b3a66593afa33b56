"""
Helpers shared by the benchmark servers: command line, file limit, ready line.

Every server script takes C{--port} and C{--app echo|broadcast}, listens on
127.0.0.1 only and prints one line starting with C{READY} once it accepts
connections.  The benchmark runner waits for that line.

The C{broadcast} app sends every message it receives to every other open
connection (not back to the sender).  The raw TCP servers treat an empty
message as a probe and answer it to the sender only, so the client can tell
that the server has set the connection up.
"""

import argparse
import resource
import sys

#: Message and frame size limit set on every server (64 MiB), so that the
#: 1 MiB rows pass everywhere.
BIG = 64 * 1024 * 1024

#: Listen backlog asked of every server, so that bursts of connects (memory
#: and broadcast rows) are not throttled by SYN retries.
BACKLOG = 1024


def parseArguments(description):
    """
    Parse the common command line.

    @param description: what the server is, for C{--help}.
    @return: the parsed arguments (C{port}, C{app}, C{host} and the extras).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--app", choices=("echo", "broadcast"), default="echo")
    parser.add_argument(
        "--join-once",
        action="store_true",
        help="raw TCP only: gather chunks in a list and join them once per message",
    )
    parser.add_argument(
        "--compression",
        action="store_true",
        help="accept permessage-deflate (twisted_ws, websockets and Autobahn only)",
    )
    return parser.parse_args()


def raiseFileLimit():
    """
    Raise the soft limit on open files to the hard limit.

    @return: the new soft limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return soft
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def announce(name, arguments):
    """
    Print the ready line the runner waits for.

    @param name: the server's name.
    @param arguments: the parsed command line.
    """
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    sys.stdout.write(
        "READY %s app=%s port=%d nofile=%d\n" % (name, arguments.app, arguments.port, limit)
    )
    sys.stdout.flush()
