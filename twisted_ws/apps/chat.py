# -*- test-case-name: tests.test_apps -*-
"""
A chat with rooms on a L{twisted_ws.pubsub} hub, served with its demo page
by C{twistd -n websocket}.

Every message is a JSON object in a text message, with a C{type}.

From a client:
  - C{{"type": "join", "room": "lobby", "name": "alice"}}: enter a room
    (leaving the one the client was in); a name already taken in the room
    gets a suffix (C{alice-2});
  - C{{"type": "message", "text": "hello"}}: say something to the others in
    the room;
  - C{{"type": "users"}}: ask who is in the room.
  A text message that is not a JSON object is taken as the text of a
  C{message}, so a plain WebSocket client can chat too; a client that says
  something before joining enters the room C{lobby} as C{guest-N}.

From the server:
  - C{welcome} on opening: C{version} (e.g. C{"rfc6455"}), C{subprotocol}
    (or C{null}), C{compression} (whether permessage-deflate is on),
    C{rooms} (the rooms with people in them in this process);
  - C{joined} to the client that joined: C{room}, C{name}, C{users};
  - C{join} and C{leave} to the others: C{room}, C{name}, C{users};
  - C{users}: C{room}, C{users};
  - C{message} to every other client in the room: C{room}, C{name},
    C{text};
  - C{error}: C{reason}.

A room is the hub channel C{chat:<room>}; its users are the channel's
presence, so with a L{RedisHub<twisted_ws.pubsub.RedisHub>} a room spans
every server process on the same Redis, and names are unique across them.
The hub frames each message once per protocol family and drops a client
that does not read what it is sent (more than
L{HubOptions.maxBuffered<twisted_ws.pubsub.HubOptions>} bytes waiting) with
close code 1008; the others are told it left.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from twisted_ws import Options, WebSocketServerFactory
from twisted_ws.pubsub import HubProtocol, IHub, LocalHub, Member, NameTaken

_log = Logger()

#: Options the chat application uses unless told otherwise: chat lines are
#: short.
defaultOptions: dict[str, Any] = {
    "maxMessageSize": 64 * 1024,
    "maxFrameSize": 64 * 1024,
}

#: The longest room or user name, in characters.
MAX_NAME = 40

#: The longest chat line, in characters.
MAX_TEXT = 4000

#: The room a client that did not join enters when it speaks.
DEFAULT_ROOM = "lobby"

#: The close code for a client that cannot keep up (policy violation).
TOO_SLOW = 1008

#: The prefix of the hub channels of rooms.
CHANNEL_PREFIX = "chat:"


def _cleanName(value: Any) -> str | None:
    """
    A room or user name with surrounding blanks and control characters
    removed, or L{None} if nothing usable is left.
    """
    if not isinstance(value, str):
        return None
    name = "".join(c for c in value if c.isprintable()).strip()[:MAX_NAME]
    return name or None


def channelOf(room: str) -> str:
    """
    The hub channel of C{room}.
    """
    return CHANNEL_PREFIX + room


def _names(members: list[Member]) -> list[str]:
    return [m.name for m in members]


class ChatProtocol(HubProtocol):
    """
    One chat client.

    @ivar room: the name of the room it is in, or L{None}.
    @ivar name: its name in that room.
    """

    room: str | None = None
    name: str | None = None
    _gone = False
    _joining: Deferred[None] | None = None

    def sendJSON(self, message: dict[str, Any]) -> None:
        """
        Send one message to this client only, if it is still open.
        """
        transport = self.transport
        if transport is not None and transport.isOpen:
            transport.sendTextMessage(json.dumps(message, ensure_ascii=False))

    def _publish(self, room: str, message: dict[str, Any], exclude: Any = None) -> None:
        d = self.hub.publish(channelOf(room), json.dumps(message, ensure_ascii=False), exclude)
        d.addErrback(self._hubFailed, "publishing")

    def _hubFailed(self, failure: Failure, doing: str) -> None:
        _log.failure("chat: the hub failed while {doing}", failure, doing=doing)
        self.sendJSON({"type": "error", "reason": "the chat hub failed; try again"})

    def negotiationFinished(self) -> None:
        """
        Tell the client what the connection is: protocol version,
        subprotocol, compression, and the rooms in use.
        """
        transport = self.transport
        extensions = getattr(transport, "extensions", None) or ()
        names = [getattr(e, "name", str(e)) for e in extensions]
        rooms = [c[len(CHANNEL_PREFIX) :] for c in self.hub.channels() if c.startswith(CHANNEL_PREFIX)]
        self.sendJSON(
            {
                "type": "welcome",
                "version": transport.version.label,
                "subprotocol": transport.subprotocol,
                "compression": any("deflate" in name for name in names),
                "rooms": rooms,
            }
        )

    # Rooms.

    def join(self, room: str, wanted: str) -> Deferred[None]:
        """
        Leave the current room, enter C{room} as C{wanted} (or a free
        variant of it), tell this client who is there and the others that
        it came.  Reading from the client pauses until it is done, so that
        what it says next is said in the new room.
        """
        hub = self.hub
        channel = channelOf(room)
        self._leaveRoom()
        d: Deferred[Any] = hub.subscribe(channel, self)
        d.addCallback(lambda _: hub.enter(channel, self, wanted))

        def entered(member: Member) -> Deferred[list[Member]] | None:
            if self._gone:
                hub.unsubscribeAll(self)
                return None
            self.room, self.name = room, member.name
            return hub.presence(channel)  # type: ignore[no-any-return]

        def listed(members: list[Member] | None) -> None:
            if members is None or self.room != room:
                return
            users = _names(members)
            self.sendJSON({"type": "joined", "room": room, "name": self.name, "users": users})
            self._publish(room, {"type": "join", "room": room, "name": self.name, "users": users}, self)

        def failed(failure: Failure) -> None:
            hub.unsubscribe(channel, self)
            if self._gone:
                # The connection was lost while the hub was answering.
                return
            if failure.check(NameTaken):
                self.sendJSON({"type": "error", "reason": f"the name {wanted!r} is taken"})
            else:
                self._hubFailed(failure, "joining a room")

        d.addCallback(entered)
        d.addCallback(listed)
        d.addErrback(failed)
        if not d.called:
            # A hub with a backend answers later: hold the client's next
            # messages until then.
            self.transport.pauseReading()
            self._joining = d

            def done(result: Any) -> Any:
                self._joining = None
                if not self._gone:
                    self.transport.resumeReading()
                return result

            d.addBoth(done)
        return d

    def _leaveRoom(self) -> None:
        """
        Leave the current room, if any, and tell the others who remain.
        """
        room = self.room
        if room is None:
            return
        self.room = None
        hub = self.hub
        channel = channelOf(room)
        hub.leave(channel, self)
        hub.unsubscribe(channel, self)
        self._announceLeave(room, self.name)

    def _announceLeave(self, room: str, name: str | None) -> None:
        def listed(members: list[Member]) -> None:
            if members:
                users = _names(members)
                self._publish(room, {"type": "leave", "room": room, "name": name, "users": users})

        d = self.hub.presence(channelOf(room))
        d.addCallback(listed)
        d.addErrback(lambda f: _log.failure("chat: listing a room failed", f))

    def hubDropped(self, reason: str) -> None:
        """
        The hub dropped this client as too slow: tell the others in its
        room.
        """
        room, self.room = self.room, None
        if room is not None:
            self._announceLeave(room, self.name)

    # Messages from the client.

    def textMessageReceived(self, message: str) -> None:
        """
        Handle a command from the client.
        """
        try:
            command = json.loads(message)
        except ValueError:
            command = None
        if not isinstance(command, dict):
            command = {"type": "message", "text": message}
        kind = command.get("type")
        if kind == "join":
            roomName = _cleanName(command.get("room")) or DEFAULT_ROOM
            name = _cleanName(command.get("name")) or self.factory.guestName()
            self.join(roomName, name)
        elif kind == "message":
            text = command.get("text")
            if not isinstance(text, str) or not text:
                self.sendJSON({"type": "error", "reason": "a message needs a non-empty text"})
                return
            text = text[:MAX_TEXT]
            if self.room is None:
                self.join(DEFAULT_ROOM, self.factory.guestName()).addCallback(
                    lambda _: self._say(text)
                )
            else:
                self._say(text)
        elif kind == "users":
            room = self.room
            if room is None:
                self.sendJSON({"type": "users", "room": None, "users": []})
            else:
                d = self.hub.presence(channelOf(room))
                d.addCallback(
                    lambda members: self.sendJSON({"type": "users", "room": room, "users": _names(members)})
                )
                d.addErrback(self._hubFailed, "listing a room")
        else:
            self.sendJSON({"type": "error", "reason": f"unknown message type {kind!r}"})

    def _say(self, text: str) -> None:
        room = self.room
        if room is None:
            return
        self._publish(room, {"type": "message", "room": room, "name": self.name, "text": text}, self)

    def bytesMessageReceived(self, data: bytes) -> None:
        """
        Binary messages have no meaning here.
        """
        self.sendJSON({"type": "error", "reason": "binary messages are not used by this chat"})

    def connectionLost(self, reason: Failure) -> None:
        """
        Leave the room (the others are told), then every channel.
        """
        self._gone = True
        self._leaveRoom()
        super().connectionLost(reason)


class ChatFactory(WebSocketServerFactory):
    """
    The factory of L{ChatProtocol}, holding the hub.

    @ivar hub: the L{IHub} the rooms live on.
    """

    protocol = ChatProtocol

    hub: Any

    def __init__(self, options: Options | None = None, hub: Any = None) -> None:
        """
        @param options: the connection options.
        @param hub: the L{IHub}; a L{LocalHub} of its own by default.  The
            factory starts it (C{startService}) when it starts listening, if
            it is not running yet, and leaves stopping it to its owner.
        @raise TypeError: C{hub} does not provide L{IHub}.
        """
        super().__init__(ChatProtocol, options=options)
        if hub is None:
            hub = LocalHub()
        if not IHub.providedBy(hub):
            raise TypeError(f"the chat needs a twisted_ws.pubsub.IHub, not {hub!r}")
        self.hub = hub
        self._guests = itertools.count(1)

    def guestName(self) -> str:
        """
        A name for a client that speaks before it joins.
        """
        return f"guest-{next(self._guests)}"

    def startFactory(self) -> None:
        """
        Start the hub if it is not running.
        """
        if not getattr(self.hub, "running", True):
            self.hub.startService()


def makeFactoryFor(context: Any) -> ChatFactory:
    """
    Make the chat factory for C{twistd websocket}: its rooms live on the
    server's hub (C{context.hub}, from C{--hub}: in-process by default,
    shared by every process on one Redis with C{--hub redis://...}).

    @param context: an L{AppContext<twisted_ws.twistd._apps.AppContext>}.
    """
    return ChatFactory(context.options, context.hub)


def makeFactory(options: Options | None = None, hub: Any = None) -> ChatFactory:
    """
    Make the chat factory.

    @param options: the connection options; by default L{defaultOptions}.
    @param hub: the L{IHub} the rooms live on; by default a
        L{LocalHub} of the factory's own (one process).
    """
    if options is None:
        options = Options(**defaultOptions)
    return ChatFactory(options, hub)
