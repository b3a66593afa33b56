"""
The states of a connection and the one table of their transitions.

A connection is in exactly one L{State}.  It moves only through
L{transition}, which looks the (state, L{Trigger}) pair up in
L{TRANSITIONS}; a pair that is not in the table is a bug in the caller or in
the codec and raises L{LocalProtocolError} at once, naming both.

While the opening handshake is under way the connection is CONNECTING, and
the handshake's own steps are a separate L{HandshakeStep}.
"""

from __future__ import annotations

import enum

from ._errors import LocalProtocolError

__all__ = ["State", "Trigger", "HandshakeStep", "TRANSITIONS", "transition"]


class State(enum.Enum):
    """
    The states of a connection.

    @cvar CONNECTING: the opening handshake is under way.
    @cvar OPEN: messages flow both ways.
    @cvar LOCAL_CLOSING: this side sent its close frame and waits for the
        peer's; nothing more may be sent.
    @cvar REMOTE_CLOSING: the peer ended the exchange, with its close frame or
        by breaking the protocol, and this side owes its close frame.
        Messages may still be sent until that close frame is queued (by
        C{answerClose()}, or by the next C{dataToSend()}), so that replies
        to the messages that came before it go out first.
    @cvar CLOSED: the closing handshake finished, the connection failed, the
        TCP connection ended, or the opening handshake was refused; nothing
        more is sent or received.
    @cvar CLOSING: the former name of C{LOCAL_CLOSING}.
    """

    CONNECTING = "CONNECTING"
    OPEN = "OPEN"
    LOCAL_CLOSING = "LOCAL_CLOSING"
    REMOTE_CLOSING = "REMOTE_CLOSING"
    CLOSED = "CLOSED"
    # An alias (the same member) under the name it had before the closing
    # states were told apart.
    CLOSING = "LOCAL_CLOSING"

    # Members are singletons compared by identity: hash them so too, in C,
    # rather than by Enum's Python-level hash of their name (the table of
    # transitions is looked up on every change of state).
    __hash__ = object.__hash__


class Trigger(enum.Enum):
    """
    What moves a connection from one L{State} to another.

    @cvar OPENED: the opening handshake succeeded.
    @cvar REFUSED: the opening handshake failed, was rejected or was
        aborted.
    @cvar CLOSE_SENT: this side queued its close frame first.
    @cvar CLOSE_RECEIVED: the peer's close frame arrived.
    @cvar FAILED: the peer broke the protocol (or the codec failed
        internally): this side's close frame reports it.
    @cvar ANSWERED: this side queued the close frame it owed.
    @cvar ABORTED: the connection was ended at once, with no closing
        handshake to wait for (hixie-75's only way to close).
    @cvar ENDED: the TCP connection ended.
    """

    OPENED = "opened"
    REFUSED = "refused"
    CLOSE_SENT = "close sent"
    CLOSE_RECEIVED = "close received"
    FAILED = "failed"
    ANSWERED = "answered"
    ABORTED = "aborted"
    ENDED = "ended"

    __hash__ = object.__hash__  # by identity, as State


class HandshakeStep(enum.Enum):
    """
    The steps of the opening handshake while the connection is CONNECTING.

    @cvar HEAD: the request (server) or response (client) head is arriving.
    @cvar KEY3: server, hixie-76: the 8 bytes after the request head are
        arriving.
    @cvar WAITING: server: the request is complete and valid; the caller
        answers it with C{accept()} or C{reject()}.
    @cvar DONE: the handshake succeeded.
    @cvar REFUSED: the handshake failed or was refused; no more input is
        read.
    """

    HEAD = "head"
    KEY3 = "key3"
    WAITING = "waiting"
    DONE = "done"
    REFUSED = "refused"


_S = State
_T = Trigger

#: Every allowed transition: (state, trigger) -> new state.
TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (_S.CONNECTING, _T.OPENED): _S.OPEN,
    (_S.CONNECTING, _T.REFUSED): _S.CLOSED,
    (_S.CONNECTING, _T.ENDED): _S.CLOSED,
    (_S.OPEN, _T.CLOSE_SENT): _S.LOCAL_CLOSING,
    (_S.OPEN, _T.CLOSE_RECEIVED): _S.REMOTE_CLOSING,
    (_S.OPEN, _T.FAILED): _S.REMOTE_CLOSING,
    (_S.OPEN, _T.ABORTED): _S.CLOSED,
    (_S.OPEN, _T.ENDED): _S.CLOSED,
    (_S.LOCAL_CLOSING, _T.CLOSE_RECEIVED): _S.CLOSED,
    (_S.LOCAL_CLOSING, _T.FAILED): _S.CLOSED,
    (_S.LOCAL_CLOSING, _T.ABORTED): _S.CLOSED,
    (_S.LOCAL_CLOSING, _T.ENDED): _S.CLOSED,
    (_S.REMOTE_CLOSING, _T.ANSWERED): _S.CLOSED,
    (_S.REMOTE_CLOSING, _T.ABORTED): _S.CLOSED,
    (_S.REMOTE_CLOSING, _T.ENDED): _S.CLOSED,
    (_S.CLOSED, _T.ENDED): _S.CLOSED,
}


def transition(state: State, trigger: Trigger) -> State:
    """
    The state that C{trigger} moves C{state} to.

    @raise LocalProtocolError: the table has no such transition.
    """
    new = TRANSITIONS.get((state, trigger))
    if new is None:
        raise LocalProtocolError(f"no transition from {state.name} on {trigger.value!r}")
    return new
