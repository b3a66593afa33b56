# -*- test-case-name: tests.test_apps -*-
"""
A chat hub with rooms, served with its demo page by C{twistd -n websocket}.

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
    (or C{null}), C{compression} (whether permessage-deflate is on);
  - C{joined} to the client that joined: C{room}, C{name}, C{users};
  - C{join} and C{leave} to the others: C{room}, C{name}, C{users};
  - C{users}: C{room}, C{users};
  - C{message} to every other client in the room: C{room}, C{name},
    C{text};
  - C{error}: C{reason}.

A broadcast is framed once per protocol family with
L{twisted_ws.codec.PreparedMessage}, not once per client. A client that
does not read what it is sent, so that more than L{ChatHub.maxBuffered}
bytes wait to be written to it, is dropped with close code 1008 instead of
growing the server's memory.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from twisted.logger import Logger

from twisted_ws import Options, WebSocketProtocol, WebSocketServerFactory
from twisted_ws.codec import PreparedMessage

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


def _cleanName(value: Any) -> str | None:
    """
    A room or user name with surrounding blanks and control characters
    removed, or L{None} if nothing usable is left.
    """
    if not isinstance(value, str):
        return None
    name = "".join(c for c in value if c.isprintable()).strip()[:MAX_NAME]
    return name or None


class Room:
    """
    The clients in one room, by the name they have there.

    @ivar name: the room's name.
    @ivar members: L{ChatProtocol} by name, in joining order.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.members: dict[str, ChatProtocol] = {}

    def users(self) -> list[str]:
        """
        The names in the room, in joining order.
        """
        return list(self.members)

    def freeName(self, wanted: str) -> str:
        """
        C{wanted}, or C{wanted-2}, C{wanted-3}, ... if it is taken.
        """
        if wanted not in self.members:
            return wanted
        for n in itertools.count(2):
            candidate = f"{wanted}-{n}"
            if candidate not in self.members:
                return candidate
        raise AssertionError("unreachable")


class ChatHub:
    """
    The rooms, and the broadcasting of messages to their members.

    @ivar rooms: L{Room} by name; a room exists while it has members.
    @ivar maxBuffered: bytes that may wait to be written to one client
        before it is dropped as too slow.
    """

    def __init__(self, maxBuffered: int = 1024 * 1024) -> None:
        self.rooms: dict[str, Room] = {}
        self.maxBuffered = maxBuffered
        self._guests = itertools.count(1)

    def guestName(self) -> str:
        """
        A name for a client that speaks before it joins.
        """
        return f"guest-{next(self._guests)}"

    def join(self, client: ChatProtocol, roomName: str, wanted: str) -> Room:
        """
        Put C{client} in a room (after taking it out of its current one),
        tell it who is there and tell the others it came.
        """
        self.leave(client)
        room = self.rooms.get(roomName)
        if room is None:
            room = self.rooms[roomName] = Room(roomName)
        name = room.freeName(wanted)
        room.members[name] = client
        client.room, client.name = room, name
        client.sendJSON({"type": "joined", "room": room.name, "name": name, "users": room.users()})
        self.broadcast(
            room,
            {"type": "join", "room": room.name, "name": name, "users": room.users()},
            exclude=client,
        )
        return room

    def leave(self, client: ChatProtocol) -> None:
        """
        Take C{client} out of its room, if it is in one, and tell the others.
        """
        room, name = client.room, client.name
        if room is None or name is None:
            return
        client.room = None
        if room.members.get(name) is client:
            del room.members[name]
        if not room.members:
            self.rooms.pop(room.name, None)
            return
        self.broadcast(room, {"type": "leave", "room": room.name, "name": name, "users": room.users()})

    def broadcast(self, room: Room, message: dict[str, Any], exclude: ChatProtocol | None = None) -> None:
        """
        Send C{message} (as JSON) to every member of C{room} but C{exclude}.

        The frame is built once per protocol family and reused for every
        member; a member whose send buffer is over L{maxBuffered} is dropped
        with close code 1008 instead.  A member whose connection is already
        closing (its C{connectionLost} has not run yet) is skipped: it can
        no longer be sent messages.
        """
        prepared = PreparedMessage(json.dumps(message, ensure_ascii=False))
        tooSlow = []
        for member in list(room.members.values()):
            if member is exclude or not member.transport.isOpen:
                continue
            if member.transport.bufferedAmount > self.maxBuffered:
                tooSlow.append(member)
                continue
            member.sendPrepared(prepared)
        for member in tooSlow:
            self.dropSlow(member)

    def dropSlow(self, client: ChatProtocol) -> None:
        """
        Drop a client that does not read what it is sent.
        """
        _log.info("dropping {name}: it is not reading its messages", name=client.name)
        self.leave(client)
        client.loseConnection(TOO_SLOW, "too slow: messages are not being read")


class ChatProtocol(WebSocketProtocol):
    """
    One chat client.

    @ivar room: the L{Room} it is in, or L{None}.
    @ivar name: its name in that room.
    """

    room: Room | None = None
    name: str | None = None

    @property
    def hub(self) -> ChatHub:
        """
        The hub shared by every client of the factory.
        """
        return self.factory.hub  # type: ignore[no-any-return]

    def sendJSON(self, message: dict[str, Any]) -> None:
        """
        Send one message to this client only.
        """
        self.transport.sendTextMessage(json.dumps(message, ensure_ascii=False))

    def sendPrepared(self, prepared: PreparedMessage) -> None:
        """
        Send a message prepared for a broadcast.
        """
        sendPrepared = getattr(self.transport, "sendPreparedMessage", None)
        if sendPrepared is not None:
            sendPrepared(prepared)
        else:
            self.transport.sendTextMessage(prepared.data)

    def negotiationFinished(self) -> None:
        """
        Tell the client what the connection is: protocol version,
        subprotocol, compression.
        """
        transport = self.transport
        extensions = getattr(transport, "extensions", None) or ()
        names = [getattr(e, "name", str(e)) for e in extensions]
        self.sendJSON(
            {
                "type": "welcome",
                "version": transport.version.label,
                "subprotocol": transport.subprotocol,
                "compression": any("deflate" in name for name in names),
                "rooms": sorted(self.hub.rooms),
            }
        )

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
            room = _cleanName(command.get("room")) or DEFAULT_ROOM
            name = _cleanName(command.get("name")) or self.hub.guestName()
            self.hub.join(self, room, name)
        elif kind == "message":
            text = command.get("text")
            if not isinstance(text, str) or not text:
                self.sendJSON({"type": "error", "reason": "a message needs a non-empty text"})
                return
            if self.room is None:
                self.hub.join(self, DEFAULT_ROOM, self.hub.guestName())
            assert self.room is not None
            self.hub.broadcast(
                self.room,
                {"type": "message", "room": self.room.name, "name": self.name, "text": text[:MAX_TEXT]},
                exclude=self,
            )
        elif kind == "users":
            if self.room is None:
                self.sendJSON({"type": "users", "room": None, "users": []})
            else:
                self.sendJSON({"type": "users", "room": self.room.name, "users": self.room.users()})
        else:
            self.sendJSON({"type": "error", "reason": f"unknown message type {kind!r}"})

    def bytesMessageReceived(self, data: bytes) -> None:
        """
        Binary messages have no meaning here.
        """
        self.sendJSON({"type": "error", "reason": "binary messages are not used by this chat"})

    def connectionLost(self, reason: Any) -> None:
        """
        Leave the room.
        """
        self.hub.leave(self)


class ChatFactory(WebSocketServerFactory):
    """
    The factory of L{ChatProtocol}, holding the L{ChatHub}.
    """

    protocol = ChatProtocol

    def __init__(self, options: Options | None = None, hub: ChatHub | None = None) -> None:
        super().__init__(ChatProtocol, options=options)
        self.hub = hub if hub is not None else ChatHub()


def makeFactory(options: Options | None = None) -> ChatFactory:
    """
    Make the chat factory, with a hub of its own.

    @param options: the connection options; by default L{defaultOptions}.
    """
    if options is None:
        options = Options(**defaultOptions)
    return ChatFactory(options)
