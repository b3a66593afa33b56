# -*- test-case-name: tests.test_tap -*-
"""
The resource tree of C{twistd websocket}: each application's
L{twisted_ws.WebSocketResource} at its path of one L{twisted.web.server.Site},
beside static files or the chat demo page.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from twisted.internet.interfaces import IProtocolFactory
from twisted.web import resource, server, static

from ._values import EVERY_PATH


def demoDirectory() -> str:
    """
    The directory holding the chat demo page.
    """
    return str(resources.files("twisted_ws.apps").joinpath("static"))


def isUpgrade(request: Any) -> bool:
    """
    Whether a request asks for a WebSocket (an C{Upgrade: websocket} header,
    in any case, as every protocol version sends it).
    """
    upgrade = request.getHeader(b"upgrade") or b""
    return bool(upgrade.strip().lower() == b"websocket")


class UpgradeFallback(resource.Resource):
    """
    A root resource that hands every WebSocket request whose path has no
    application of its own to one application, and everything else to
    another resource (the static files).

    @ivar inner: the resource for other requests.
    @ivar webSocket: the application's (leaf) L{twisted_ws.WebSocketResource}.
    """

    def __init__(self, inner: resource.Resource, webSocket: resource.Resource) -> None:
        super().__init__()
        self.inner = inner
        self.webSocket = webSocket

    def getChildWithDefault(self, name: bytes, request: Any) -> Any:
        if name in self.inner.children:
            return self.inner.children[name]
        if isUpgrade(request):
            return self.webSocket
        return self.inner.getChildWithDefault(name, request)

    def render(self, request: Any) -> Any:
        if isUpgrade(request):
            return self.webSocket.render(request)
        return self.inner.render(request)


def putAt(root: resource.Resource, path: str, child: resource.Resource) -> None:
    """
    Put C{child} at C{path} below C{root}, making plain intermediate
    resources as needed.
    """
    segments = [segment.encode("utf-8") for segment in path.strip("/").split("/")]
    node = root
    for segment in segments[:-1]:
        nextNode = node.children.get(segment)
        if nextNode is None:
            nextNode = resource.Resource()
            node.putChild(segment, nextNode)
        node = nextNode
    node.putChild(segments[-1], child)


def _baseResource(built: list[Any], staticDirectory: str | None) -> resource.Resource:
    """
    What is served at C{/} for requests that are not WebSocket openings:
    the static files, the chat demo page, or nothing.
    """
    if staticDirectory is not None:
        return static.File(staticDirectory)
    chat = [b for b in built if b.loaded.demoPage]
    if not chat:
        return resource.Resource()
    root = static.File(demoDirectory())
    settings = json.dumps({"path": chat[0].config.path}).encode("utf-8")
    root.putChild(b"config.json", static.Data(settings, "application/json"))
    return root


class HealthCheck(resource.Resource):
    """
    The health check: C{200 OK} while the server serves, C{503} once it is
    draining (see L{twisted_ws._drain.DrainState}).

    @ivar state: the L{DrainState}.
    """

    isLeaf = True

    def __init__(self, state: Any) -> None:
        super().__init__()
        self.state = state

    def render(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        if self.state.draining:
            request.setResponseCode(503)
            return b"draining\n"
        return b"ok\n"


def makeRootFactory(
    built: list[Any], staticDirectory: str | None, health: str | None = None, drainState: Any = None
) -> IProtocolFactory:
    """
    The factory that each endpoint listens with.

    A single application on every path, with no static files, is served by
    its own factory straight on the endpoint (the fastest path, used by the
    conformance tests and benchmarks). Anything else is a
    L{twisted.web.server.Site} with each application's
    L{twisted_ws.WebSocketResource} at its path.

    @param built: the applications (L{BuiltApp}s).
    @param staticDirectory: a directory served at C{/}, or L{None}.
    @param health: the health check's path, or L{None} for none.
    @param drainState: the L{twisted_ws._drain.DrainState} the health check
        answers from.
    """
    from twisted_ws import WebSocketResource

    if (len(built) == 1 and built[0].config.path == EVERY_PATH and staticDirectory is None
            and health is None):
        factory: IProtocolFactory = built[0].factory
        return factory
    root = _baseResource(built, staticDirectory)
    if health is not None:
        putAt(root, health, HealthCheck(drainState))
    everywhere = None
    for app in built:
        webSocket = WebSocketResource(app.factory)
        if app.config.path == EVERY_PATH:
            everywhere = webSocket
        elif app.config.path == "/":
            root = UpgradeFallback(root, webSocket)
        else:
            putAt(root, app.config.path, webSocket)
    if everywhere is not None:
        root = UpgradeFallback(root, everywhere)
    site = server.Site(root)
    site.displayTracebacks = False
    return site
