"""
The Twisted layer's former single module, kept so that imports from it keep
working.  Its pieces now live in:

 - L{twisted_ws._errors}: L{ConnectionClosed}, L{CleanClose},
   L{AbnormalClose}, L{RejectConnection};
 - L{twisted_ws._app}: L{WebSocketProtocol}, the application's base class;
 - L{twisted_ws._wire}: the byte-level protocol (codec in, events out,
   chunks written), over L{twisted_ws._ending} (how a connection ends);
 - L{twisted_ws._transport}: L{WebSocketConnection}, what the application
   holds (and the base of the server and client connections);
 - L{twisted_ws._flow} and L{twisted_ws._timers}: back-pressure and time;
 - L{twisted_ws._server}: L{WebSocketServerConnection},
   L{WebSocketServerFactory};
 - L{twisted_ws._twistedinternals}: every use of Twisted's private
   attributes.
"""

from __future__ import annotations

from ._app import WebSocketProtocol
from ._errors import AbnormalClose, CleanClose, ConnectionClosed, RejectConnection
from ._flow import DRAIN_CHECK as _DRAIN_CHECK  # noqa: F401
from ._server import WebSocketServerConnection, WebSocketServerFactory
from ._transport import _BATCH_BYTES, _BATCH_ITEMS, WebSocketConnection  # noqa: F401
from ._wire import _READ_SIZE, _SEPARATE_BYTES, _SEPARATE_ITEMS  # noqa: F401

__all__ = [
    "ConnectionClosed",
    "CleanClose",
    "AbnormalClose",
    "RejectConnection",
    "WebSocketProtocol",
    "WebSocketConnection",
    "WebSocketServerFactory",
    "WebSocketServerConnection",
]
