"""
Parsing C{twistd websocket}'s options in process, for the tests of the
plugin's option table.
"""

from __future__ import annotations

import io

from twisted.internet.testing import MemoryReactor

from twisted_ws import Options as LibraryOptions
from twisted_ws import tap


def parse(*argv: str) -> tap.Options:
    """
    Parse C{argv} as the options of C{twistd websocket}, with endpoints made
    on a memory reactor.
    """
    options = tap.Options()
    options._reactor = MemoryReactor()
    options.stderr = io.StringIO()
    options.parseOptions(list(argv))
    return options


def libraryOptions(config: tap.Options, index: int = 0) -> LibraryOptions:
    """
    The L{twisted_ws.Options} that the application at C{index} is built with.
    """
    server = config["server"]
    app = server.apps[index]
    settings = dict(server.settings)
    settings.update(app.settings)
    return tap.makeLibraryOptions(settings, tap.loadApp(app.name).defaults)
