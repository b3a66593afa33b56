# -*- test-case-name: tests.test_tap -*-
"""
Loading the applications C{twistd websocket} serves, and building each one's
protocol factory from an L{AppContext}.

An application is built in one of two ways, whichever it offers:

  - C{makeFactoryFor(context)}, given an L{AppContext}: the options, the
    reactor, and the running service tree, so that the application can own
    a service (a pub/sub hub, a metrics exporter) that starts and stops with
    the server, and share one with the other applications of the server;
  - C{makeFactory(options)}, given only the L{twisted_ws.Options}: what
    every application offered before contexts existed, and still enough
    for most.

A built-in application's module (L{BUILTIN_APPS}) may define either;
C{makeFactoryFor} wins when both are there.  A callable named with
C{--app package.module.name} is given the context if its first parameter is
called C{context} (or is annotated L{AppContext}), and the options
otherwise.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from twisted.application import service
from twisted.internet.interfaces import IProtocolFactory
from twisted.python.reflect import namedAny

from twisted_ws._options import Options

from ._library import BUILTIN_APPS, makeLibraryOptions
from ._values import ConfigError, typeName


@dataclass
class AppContext:
    """
    What an application is built from.

    @ivar name: the application's name as C{--app} gave it.
    @ivar path: the path it is served on (C{"*"} for every path).
    @ivar options: its L{twisted_ws.Options}: the library's defaults, under
        the application's own C{defaultOptions}, under what the command line
        and the configuration file say.
    @ivar reactor: the reactor the server runs on.
    @ivar services: the service the server's own services hang from; see
        L{addService}.
    @ivar shared: objects shared by every application of the server, by
        name; see L{getShared}.
    @ivar hubConfig: the server's hub (a
        L{HubConfig<twisted_ws.twistd._hub.HubConfig>}); see L{hub}.
    """

    name: str
    path: str
    options: Options
    reactor: Any
    services: service.MultiService = field(default_factory=service.MultiService)
    shared: dict[str, Any] = field(default_factory=dict)
    hubConfig: Any = None

    @property
    def hub(self) -> Any:
        """
        The server's pub/sub hub (an L{IHub<twisted_ws.pubsub.IHub>}), one
        per process and the same for every application: made on first use
        from C{--hub} or C{[hub]} (in-process by default), and started and
        stopped with the server.
        """
        from ._hub import contextHub

        return contextHub(self)

    def addService(self, child: service.IService) -> None:
        """
        Make C{child} part of the running server: it is started when the
        server starts (after its ports are open) and stopped when it stops.
        """
        child.setServiceParent(self.services)

    def getShared(self, key: str, make: Callable[[], Any]) -> Any:
        """
        The object the server's applications share under C{key}, made with
        C{make()} by the first application that asks (a hub that two chat
        applications of one server both publish to, for instance).  An
        object made here that is an L{IService} is added with
        L{addService}.
        """
        if key not in self.shared:
            made = make()
            self.shared[key] = made
            if service.IService.providedBy(made):
                self.addService(made)
        return self.shared[key]


@dataclass
class LoadedApp:
    """
    An application resolved to something that can build a factory.

    @ivar build: a callable taking an L{AppContext} and returning a protocol
        factory.
    @ivar defaults: option values (by L{twisted_ws.Options} field) that the
        application prefers over the library defaults.
    @ivar demoPage: whether this is the chat application, whose page is
        served at C{/} when no C{--static} is given.
    """

    build: Callable[[AppContext], IProtocolFactory]
    defaults: dict[str, Any]
    demoPage: bool = False

    def makeFactory(self, options: Options, reactor: Any = None) -> IProtocolFactory:
        """
        Build the factory from options alone, in a context of its own.
        """
        return self.build(AppContext("", "", options, reactor))


def takesContext(maker: Callable[..., Any]) -> bool:
    """
    Whether a factory-making callable wants an L{AppContext} rather than
    options: its first parameter is named C{context} or annotated
    L{AppContext}.
    """
    try:
        parameters = list(inspect.signature(maker).parameters.values())
    except (TypeError, ValueError):
        return False
    if not parameters:
        return False
    first = parameters[0]
    annotation = first.annotation
    named = isinstance(annotation, str) and annotation.rsplit(".", 1)[-1] == "AppContext"
    return first.name == "context" or annotation is AppContext or named


def _fromMaker(maker: Callable[..., Any]) -> Callable[[AppContext], IProtocolFactory]:
    if takesContext(maker):
        return maker
    return lambda context: maker(context.options)


def addWorkingDirectory() -> None:
    """
    Put the directory twistd was started in first on the import path, as
    C{python -m} and C{twistd web --wsgi} users expect, so that
    C{--app game:Shout} finds C{game.py} there.
    """
    here = os.path.abspath(os.getcwd())
    if here not in (os.path.abspath(p or os.curdir) for p in sys.path):
        sys.path.insert(0, here)


def _builtin(name: str) -> LoadedApp:
    module = import_module(BUILTIN_APPS[name])
    maker = getattr(module, "makeFactoryFor", None)
    build = maker if maker is not None else _fromMaker(module.makeFactory)
    return LoadedApp(build, dict(getattr(module, "defaultOptions", {})), name == "chat")


def _importColon(name: str) -> Any:
    moduleName, _, attribute = name.partition(":")
    try:
        module = import_module(moduleName)
    except Exception as e:
        raise ConfigError(f"cannot import module {moduleName!r}: {e}") from None
    try:
        return namedAny(f"{moduleName}.{attribute}")
    except Exception:
        pass
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ConfigError(f"module {moduleName!r} has no attribute {attribute!r}") from None


def _importDotted(name: str) -> Any:
    if "." not in name:
        raise ConfigError(
            f"{name!r} is not a built-in application ({', '.join(BUILTIN_APPS)}) "
            "nor a dotted name such as mypackage.module.Factory"
        )
    try:
        return namedAny(name)
    except Exception as e:
        raise ConfigError(f"cannot import {name!r}: {e}") from None


def _fromObject(name: str, obj: Any) -> LoadedApp:
    from twisted_ws import WebSocketProtocol, WebSocketServerFactory

    if isinstance(obj, type) and issubclass(obj, WebSocketProtocol):
        protocolClass = obj
        return LoadedApp(lambda context: WebSocketServerFactory(
            protocolClass, options=context.options, reactor=context.reactor), {})
    if IProtocolFactory.providedBy(obj):
        return LoadedApp(lambda context: obj, {})
    if callable(obj):
        return LoadedApp(_fromMaker(obj), dict(getattr(obj, "defaultOptions", {})))
    raise ConfigError(
        f"{name!r} is {typeName(obj)}, not a WebSocketProtocol subclass, "
        "a protocol factory, or a callable returning one"
    )


def loadApp(name: str) -> LoadedApp:
    """
    Resolve an application name.

    A built-in name (C{echo}, C{chat}) names a module of L{twisted_ws.apps}
    with a C{makeFactoryFor(context)} or C{makeFactory(options)} function
    and a C{defaultOptions} dict.

    Otherwise C{name} is C{package.module.Attribute} or
    C{package.module:Attribute}, importable from the directory twistd was
    started in or from C{sys.path}, naming one of:
      - a L{twisted_ws.WebSocketProtocol} subclass, served by a
        L{twisted_ws.WebSocketServerFactory} built with the options;
      - a protocol factory instance, served as it is (library options from
        the command line do not reach it);
      - any other callable, called with the L{AppContext} or the
        L{twisted_ws.Options} (see the module's description) and returning
        a protocol factory.

    @raise ConfigError: if the name cannot be imported or names something
        of another kind.
    """
    if name in BUILTIN_APPS:
        return _builtin(name)
    addWorkingDirectory()
    obj = _importColon(name) if ":" in name else _importDotted(name)
    return _fromObject(name, obj)


@dataclass
class BuiltApp:
    """
    An application of the server with its factory.

    @ivar config: what the configuration said of it (an L{AppConfig}).
    @ivar loaded: the L{LoadedApp}.
    @ivar factory: its protocol factory.
    """

    config: Any
    loaded: LoadedApp
    factory: IProtocolFactory


def optionsFor(serverSettings: dict[str, Any], app: Any, loaded: LoadedApp) -> Options:
    """
    The L{twisted_ws.Options} of one application: the server-wide settings
    under its own, over its defaults.

    @raise ConfigError: if they do not make valid options.
    """
    settings = dict(serverSettings)
    settings.update(app.settings)
    return makeLibraryOptions(settings, loaded.defaults)


def buildApps(
    config: Any, reactor: Any = None, services: service.MultiService | None = None
) -> list[BuiltApp]:
    """
    Build the protocol factory of every application of a L{ServerConfig},
    each from its L{AppContext}.

    @param reactor: the server's reactor (the global one by default).
    @param services: where the applications' own services go; a
        L{service.MultiService} of their own by default.
    """
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = globalReactor
    if services is None:
        services = service.MultiService()
    shared: dict[str, Any] = {}
    built = []
    for app in config.apps:
        loaded = loadApp(app.name)
        context = AppContext(app.name, app.path, optionsFor(config.settings, app, loaded),
                             reactor, services, shared, getattr(config, "hub", None))
        built.append(BuiltApp(app, loaded, loaded.build(context)))
    return built


def checkApps(config: Any, problems: Any) -> None:
    """
    Load every application of a L{ServerConfig} and build its options
    once, recording in C{problems} what stops one from being served (an
    import error, a bad combination of options), so that C{twistd} stops
    before it starts.
    """
    for app in config.apps:
        try:
            loaded = loadApp(app.name)
        except ConfigError as e:
            problems.add(f"{app.nameOrigin} {app.name!r}", str(e))
            continue
        try:
            optionsFor(config.settings, app, loaded)
        except ConfigError as e:
            problems.add(f"{app.origin} {app.name!r}" if app.origin == "--app" else app.origin, str(e))
