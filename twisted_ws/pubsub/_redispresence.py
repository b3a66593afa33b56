# -*- test-case-name: tests.test_pubsub_redis -*-
"""
Presence in Redis for L{RedisHub<twisted_ws.pubsub.RedisHub>}: the members
of every process, names unique in a channel across processes, and keeping
them alive.

What is in Redis (see C{docs/pubsub.rst}): a hash
C{<prefix>:members:<channel>} (member id to the member's JSON), a key
C{<prefix>:proc:<process id>} per live process (expiring after
C{presenceTTL}), and a key per taken name,
C{<prefix>:name:<len(channel)>:<channel>:<name>} (C{SET NX} with the same
expiry), refreshed by their process every C{presenceTTL / 3}.  Members
whose process key has expired are left out of presence (and removed), so
a crashed process's members are gone after the TTL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, gatherResults, inlineCallbacks, succeed
from twisted.logger import Logger

from ._channels import LocalChannels
from ._core import HubError, HubOptions, Member, NameTaken, nameVariants

__all__ = ["RedisPresence", "PresenceRecords"]

_log = Logger(namespace="twisted_ws.pubsub.redis")

#: How many members that left while Redis was unavailable are remembered,
#: to be taken out of Redis when it is back (past that, they go when this
#: process's key expires).
_MAX_UNFORGOTTEN = 10000

_RELEASE = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) "
    "else return 0 end"
)


def _ok(reply: Any) -> bool:
    return reply in ("OK", b"OK")


def _ignore(_: Any) -> None:
    return None


class PresenceRecords:
    """
    What one process writes into Redis for presence, key by key: the names
    of the keys, and writing, refreshing and removing the records of a
    member and of the process.  It decides nothing about who may enter or
    who is listed (L{RedisPresence} does).

    @ivar ttl: the expiry of every key, in milliseconds.
    """

    def __init__(
        self, processId: str, prefix: str, presenceTTL: float, command: Callable[..., Deferred[Any]]
    ) -> None:
        """
        @param processId: this process's name among the hub's processes.
        @param prefix: the first part of every Redis key.
        @param presenceTTL: seconds after which a process's members expire.
        @param command: runs a Redis command, failing at once when Redis
            is unavailable.
        """
        self.processId = processId
        self.prefix = prefix
        self.ttl = max(1, int(presenceTTL * 1000))
        self._command = command

    # Keys.

    def membersKey(self, channel: str) -> str:
        return f"{self.prefix}:members:{channel}"

    def nameKey(self, channel: str, name: str) -> str:
        return f"{self.prefix}:name:{len(channel)}:{channel}:{name}"

    def procKey(self, processId: str) -> str:
        return f"{self.prefix}:proc:{processId}"

    # Writing and removing.

    def register(self, channel: str, member: Member) -> Deferred[Any]:
        """
        Write C{member} into C{channel}'s presence hash.
        """
        key = self.membersKey(channel)
        d = self._command("HSET", key, member.id, json.dumps(member.toJSON(), ensure_ascii=False))
        d.addCallback(lambda _: self._command("PEXPIRE", key, self.ttl))
        d.addErrback(_ignore)
        return d

    def release(self, channel: str, name: str, memberId: str) -> Deferred[Any]:
        """
        Free C{name} in C{channel} if the member C{memberId} holds it.
        """
        d = self._command("EVAL", _RELEASE, 1, self.nameKey(channel, name), memberId)
        d.addErrback(_ignore)
        return d

    def forget(self, channel: str, member: Member) -> Deferred[Any]:
        """
        Take C{member} out of C{channel}'s presence in Redis.
        """
        d = self._command("HDEL", self.membersKey(channel), member.id)
        d.addErrback(_ignore)
        return gatherResults([d, self.release(channel, member.name, member.id)])

    def markAlive(self) -> None:
        """
        Write this process's key, with a fresh expiry.
        """
        self._command("SET", self.procKey(self.processId), "1", "PX", self.ttl).addErrback(_ignore)

    def removeProcess(self) -> Deferred[Any]:
        """
        Delete this process's key.
        """
        return self._command("DEL", self.procKey(self.processId))

    # Refreshing.

    def reclaim(self, channel: str, member: Member) -> None:
        """
        Take C{member}'s name again after Redis lost it, or log that
        another process took it meanwhile.
        """
        key = self.nameKey(channel, member.name)

        def claimed(reply: Any) -> Deferred[Any] | None:
            if _ok(reply):
                return None
            return self._command("GET", key).addCallback(owner)

        def owner(reply: Any) -> None:
            if reply is not None and reply != member.id.encode():
                _log.info(
                    "RedisHub: the name {name} in {channel} was taken in another process "
                    "while Redis was unavailable; both keep it",
                    name=member.name,
                    channel=channel,
                )
            else:
                self._command("PEXPIRE", key, self.ttl).addErrback(_ignore)

        d = self._command("SET", key, member.id, "NX", "PX", self.ttl)
        d.addCallback(claimed)
        d.addErrback(_ignore)

    def refreshChannel(self, channel: str, members: list[Member]) -> None:
        """
        Push back the expiry of C{channel}'s hash and of its C{members}'
        names; write again what Redis lost.
        """

        def hashRefreshed(reply: Any) -> None:
            if reply == 0:
                for member in members:
                    self.register(channel, member)

        self._command("PEXPIRE", self.membersKey(channel), self.ttl).addCallbacks(
            hashRefreshed, _ignore
        )
        for member in members:

            def nameRefreshed(reply: Any, member: Member = member) -> None:
                if reply == 0:
                    self.reclaim(channel, member)

            self._command("PEXPIRE", self.nameKey(channel, member.name), self.ttl).addCallbacks(
                nameRefreshed, _ignore
            )


class RedisPresence:
    """
    The presence of one hub's process in Redis: who may enter under which
    name, who is listed, and keeping this process's members there across
    outages (the records themselves are L{PresenceRecords}).

    @ivar records: the L{PresenceRecords} of this process.
    @ivar local: the hub's L{LocalChannels}, where this process's members
        are.
    """

    def __init__(
        self,
        local: LocalChannels,
        options: HubOptions,
        prefix: str,
        presenceTTL: float,
        command: Callable[..., Deferred[Any]],
        online: Callable[[], bool],
    ) -> None:
        """
        @param prefix: the first part of every Redis key.
        @param presenceTTL: seconds after which a process's members expire.
        @param command: runs a Redis command, failing at once when Redis
            is unavailable.
        @param online: whether the command connection is up.
        """
        self.local = local
        self.options = options
        self.processId = local.processId
        self.records = PresenceRecords(self.processId, prefix, presenceTTL, command)
        self._command = command
        self._online = online
        self._entering: dict[tuple[str, Any], str] = {}
        self._unforgotten: list[tuple[str, Member]] = []

    # Entering and leaving.

    def enter(self, channel: str, subscriber: Any, member: Member, suffix: bool) -> Deferred[Member]:
        """
        Claim a free variant of C{member}'s name in Redis and record the
        member.
        """
        self._entering[(channel, subscriber)] = member.id
        return self._claim(channel, subscriber, member.name, member, suffix)  # type: ignore[no-any-return]

    @inlineCallbacks
    def _claim(
        self, channel: str, subscriber: Any, name: str, member: Member, suffix: bool
    ) -> Any:
        taken = self.local.localNames(channel)
        chosen = None
        candidates = list(nameVariants(self.options, name)) if suffix else [name]
        for candidate in candidates:
            if candidate in taken:
                continue
            if not self._online():
                # Unique in this process only until Redis is back.
                chosen = candidate
                break
            try:
                key = self.records.nameKey(channel, candidate)
                reply = yield self._command("SET", key, member.id, "NX", "PX", self.records.ttl)
            except Exception:
                chosen = candidate
                break
            if _ok(reply):
                chosen = candidate
                break
        if self._entering.get((channel, subscriber)) != member.id:
            if chosen is not None:
                self.records.release(channel, chosen, member.id)
            raise HubError(f"the subscriber left {channel!r} before it entered")
        del self._entering[(channel, subscriber)]
        if chosen is None:
            raise NameTaken(f"the name {name!r} is taken in {channel!r}")
        member = Member(member.id, chosen, member.metadata, member.process, member.since)
        self.local.addMember(channel, subscriber, member)
        self.records.register(channel, member)
        return member

    def leave(self, channel: str, subscriber: Any) -> None:
        """
        Take C{subscriber} out of C{channel}'s presence, here and in Redis
        (when it is back, if it is unavailable).
        """
        self._entering.pop((channel, subscriber), None)
        member = self.local.removeMember(channel, subscriber)
        if member is not None:
            if self._online():
                self.records.forget(channel, member)
            elif len(self._unforgotten) < _MAX_UNFORGOTTEN:
                self._unforgotten.append((channel, member))

    def leaveAll(self, subscriber: Any) -> None:
        """
        Take C{subscriber} out of every presence, and stop its entries
        under way.
        """
        for channel in self.local.presentIn(subscriber):
            self.leave(channel, subscriber)
        for key in [k for k in self._entering if k[1] is subscriber]:
            del self._entering[key]

    # Listing.

    def members(self, channel: str) -> Deferred[list[Member]]:
        """
        The members of C{channel} in every live process, in entering order
        (this process's only while Redis is unavailable).
        """
        local = self.local.localMembers(channel)
        if not self._online():
            return succeed(local)
        d = self._command("HGETALL", self.records.membersKey(channel))
        d.addCallback(self._othersAlive, channel)
        d.addCallback(lambda others: sorted(local + others, key=lambda m: (m.since, m.id)))
        d.addErrback(lambda _: self.local.localMembers(channel))
        return d

    @inlineCallbacks
    def _othersAlive(self, reply: Any, channel: str) -> Any:
        """
        The members in C{reply} (an C{HGETALL} of C{channel}'s hash) held
        by other live processes; those of dead processes are removed.
        """
        records = reply if isinstance(reply, list) else []
        members: list[Member] = []
        broken: list[Any] = []
        mine = {m.id for m in self.local.localMembers(channel)}
        for field, value in zip(records[::2], records[1::2], strict=False):
            try:
                member = Member.fromJSON(json.loads(value))
            except (TypeError, ValueError):
                broken.append(field)
                continue
            if member.process != self.processId:
                members.append(member)
            elif member.id not in mine:
                # Left while Redis was unavailable, or before a restart.
                broken.append(field)
        processes = sorted({m.process for m in members})
        alive: set[str] = set()
        if processes:
            flags = yield self._command("MGET", *[self.records.procKey(p) for p in processes])
            alive = {p for p, flag in zip(processes, flags, strict=False) if flag is not None}
        dead = [m.id for m in members if m.process not in alive] + broken
        if dead:
            self._command("HDEL", self.records.membersKey(channel), *dead).addErrback(_ignore)
        return [m for m in members if m.process in alive]

    # Keeping presence alive.

    def allMembers(self) -> list[tuple[str, Member]]:
        """
        Every member of this process, with its channel.
        """
        return [
            (channel, member)
            for channel, members in self.local.members.items()
            for member in members.values()
        ]

    def restore(self) -> None:
        """
        After (re)connecting: mark this process alive and write every local
        member and name again (a restarted Redis has none of them).
        """
        self.records.markAlive()
        unforgotten, self._unforgotten = self._unforgotten, []
        for channel, member in unforgotten:
            self.records.forget(channel, member)
        for channel, member in self.allMembers():
            self.records.reclaim(channel, member)
            self.records.register(channel, member)

    def refresh(self) -> None:
        """
        Push back the expiry of this process's key, presence hashes and
        names; write again what Redis lost.
        """
        if not self._online():
            return
        self.records.markAlive()
        for channel in list(self.local.members):
            self.records.refreshChannel(channel, self.local.localMembers(channel))

    def withdraw(self) -> list[Deferred[Any]]:
        """
        On stopping: take every member of this process and the process's
        key out of Redis.

        @return: the L{Deferred}s of the commands.
        """
        steps = [self.records.forget(channel, member) for channel, member in self.allMembers()]
        steps.append(self.records.removeProcess())
        return steps
