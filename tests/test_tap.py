"""
Tests for L{twisted_ws.tap}: the options and configuration file of
C{twistd websocket}, and the service they build.
"""

from __future__ import annotations

import errno
import importlib
import io
import json
import os
import sys
import textwrap
from typing import Any

from twisted.application.service import IServiceMaker
from twisted.internet.error import CannotListenError
from twisted.internet.testing import MemoryReactor
from twisted.logger import globalLogPublisher
from twisted.plugin import getPlugins
from twisted.trial.unittest import SynchronousTestCase
from twisted.web import server, static
from twisted.web.test.requesthelper import DummyRequest

from twisted_ws import Options as LibraryOptions
from twisted_ws import Version, WebSocketResource, WebSocketServerFactory, tap
from twisted_ws.apps import chat, echo

from ._support.tapopts import libraryOptions, parse

SAMPLE_MODULE = """
from twisted_ws import WebSocketProtocol, WebSocketServerFactory

class SampleProtocol(WebSocketProtocol):
    pass

def makeSampleFactory(options):
    factory = WebSocketServerFactory(SampleProtocol, options=options)
    factory.madeBySample = True
    return factory

notAnApp = 42
"""


def installSampleModule(testCase: SynchronousTestCase) -> str:
    """
    Write a module standing for a user's application, make it importable
    for the duration of C{testCase}, and return its name.
    """
    directory = testCase.mktemp()
    os.makedirs(directory)
    name = "twisted_ws_sample_" + str(abs(hash(directory)))
    with open(os.path.join(directory, name + ".py"), "w") as f:
        f.write(SAMPLE_MODULE)
    sys.path.insert(0, os.path.abspath(directory))
    testCase.addCleanup(sys.path.remove, os.path.abspath(directory))
    testCase.addCleanup(sys.modules.pop, name, None)
    return name


class PluginTests(SynchronousTestCase):
    """
    The C{twistd} plugin.
    """

    def test_pluginFile(self) -> None:
        """
        The plugin module of the source tree holds one service maker named
        C{websocket} that names L{twisted_ws.tap} by string.
        """
        import twisted_ws

        root = os.path.dirname(os.path.dirname(os.path.abspath(twisted_ws.__file__)))
        path = os.path.join(root, "twisted", "plugins", "twisted_ws_plugin.py")
        namespace: dict[str, object] = {}
        with open(path) as f:
            exec(compile(f.read(), path, "exec"), namespace)
        makers = [v for v in namespace.values() if IServiceMaker.providedBy(v)]
        self.assertEqual([(m.tapname, m.module) for m in makers], [("websocket", "twisted_ws.tap")])

    def test_discovered(self) -> None:
        """
        Twisted's plugin system, as C{twistd} uses it, finds the service
        maker of the installed package and its options are L{tap.Options}.
        """
        makers = {maker.tapname: maker for maker in getPlugins(IServiceMaker)}
        self.assertIn("websocket", makers)
        self.assertEqual(makers["websocket"].module, "twisted_ws.tap")
        self.assertIs(makers["websocket"].options, tap.Options)


class DefaultTests(SynchronousTestCase):
    """
    With no options, the chat demo on C{tcp:8080}.
    """

    def test_defaults(self) -> None:
        """
        No options: listen on tcp:8080, the chat application on /ws, no
        static directory, no library settings.
        """
        server = parse()["server"]
        self.assertEqual(server.listen, ["tcp:8080"])
        self.assertEqual([(a.name, a.path) for a in server.apps], [("chat", "/ws")])
        self.assertIsNone(server.static)
        self.assertEqual(server.settings, {})

    def test_echoEveryPath(self) -> None:
        """
        The echo application is served on every path unless C{--path} is
        given.
        """
        self.assertEqual(parse("--app", "echo")["server"].apps[0].path, "*")
        self.assertEqual(parse("--app", "echo", "--path", "/e/")["server"].apps[0].path, "/e")

    def test_echoLimits(self) -> None:
        """
        The echo application accepts messages and frames of more than 16 MiB
        unless told otherwise.
        """
        options = libraryOptions(parse("--app", "echo"))
        self.assertGreater(options.maxMessageSize, 16 * 1024 * 1024)
        self.assertGreater(options.maxFrameSize, 16 * 1024 * 1024)
        options = libraryOptions(parse("--app", "echo", "--max-message-size", "1MiB"))
        self.assertEqual(options.maxMessageSize, 1024 * 1024)


class CommandLineTests(SynchronousTestCase):
    """
    Parsing of each command-line option.
    """

    def test_listenRepeatable(self) -> None:
        """
        C{--listen} may be given several times; every endpoint is kept, in
        order.
        """
        server = parse("--listen", "tcp:0", "-l", "unix:/tmp/x.sock")["server"]
        self.assertEqual(server.listen, ["tcp:0", "unix:/tmp/x.sock"])

    def test_allowedOriginNone(self) -> None:
        """
        C{--allowed-origin none} (any case) admits requests without an
        Origin header, beside the origins listed; a codec server built with
        those options accepts such a request.
        """
        from twisted_ws.codec import ClientConnection, RequestReceived, ServerConnection

        options = libraryOptions(
            parse("--allowed-origin", "https://a.example", "--allowed-origin", "None")
        )
        self.assertEqual(options.allowedOrigins, ("https://a.example", None))
        client = ClientConnection("example.com", "/")
        events = ServerConnection(options).receiveData(client.dataToSend())
        self.assertEqual([type(e) for e in events], [RequestReceived])

    def test_libraryOptions(self) -> None:
        """
        Every library option reaches the L{twisted_ws.Options} field it names.
        """
        config = parse(
            "--protocol-versions", "rfc6455,hixie-76",
            "--allowed-origin", "https://a.example",
            "--allowed-origin", "https://b.example",
            "--subprotocol", "chat.v2",
            "--subprotocol", "chat.v1",
            "--max-message-size", "2MiB",
            "--max-frame-size", "65536",
            "--open-timeout", "3",
            "--close-timeout", "1.5",
            "--ping-interval", "30",
            "--ping-timeout", "7",
        )
        options = libraryOptions(config)
        self.assertEqual(options.versions, frozenset({Version.RFC6455, Version.HIXIE76}))
        self.assertEqual(options.allowedOrigins, ("https://a.example", "https://b.example"))
        self.assertEqual(options.subprotocols, ("chat.v2", "chat.v1"))
        self.assertEqual(options.maxMessageSize, 2 * 1024 * 1024)
        self.assertEqual(options.maxFrameSize, 65536)
        self.assertEqual(options.openTimeout, 3.0)
        self.assertEqual(options.closeTimeout, 1.5)
        self.assertEqual(options.pingInterval, 30.0)
        self.assertEqual(options.pingTimeout, 7.0)

    def test_pingIntervalOff(self) -> None:
        """
        C{--ping-interval off} (or 0) turns keepalive pings off.
        """
        self.assertIsNone(libraryOptions(parse("--ping-interval", "off")).pingInterval)
        self.assertIsNone(libraryOptions(parse("--ping-interval", "0")).pingInterval)

    def test_quiet(self) -> None:
        """
        C{--quiet} turns off the log line of every connection; by default it
        is on.
        """
        self.assertTrue(libraryOptions(parse()).logConnections)
        self.assertFalse(libraryOptions(parse("--quiet")).logConnections)

    def test_versionAliases(self) -> None:
        """
        Versions can be named by wire number and C{all} names every version.
        """
        options = libraryOptions(parse("--protocol-versions", "13, 8,7"))
        self.assertEqual(
            options.versions, frozenset({Version.RFC6455, Version.HYBI08, Version.HYBI07})
        )
        self.assertEqual(libraryOptions(parse("--protocol-versions", "all")).versions, frozenset(Version))

    def assertRefused(self, argv: list[str], *fragments: str) -> str:
        """
        Parsing C{argv} raises L{tap.ConfigurationError} whose message holds every
        one of C{fragments}.
        """
        error = self.assertRaises(tap.ConfigurationError, parse, *argv)
        for fragment in fragments:
            self.assertIn(fragment, str(error))
        return str(error)

    def test_badSize(self) -> None:
        """
        A size that is not a number of bytes is refused, naming the option.
        """
        self.assertRefused(["--max-message-size", "lots"], "--max-message-size", "'lots'")
        self.assertRefused(["--max-frame-size", "0"], "--max-frame-size", "positive")

    def test_badSeconds(self) -> None:
        """
        A duration that is not a positive number is refused, naming the
        option.
        """
        self.assertRefused(["--open-timeout", "soon"], "--open-timeout", "'soon'")
        self.assertRefused(["--close-timeout", "-1"], "--close-timeout", "positive")

    def test_badVersion(self) -> None:
        """
        An unknown protocol version is refused, naming it.
        """
        self.assertRefused(
            ["--protocol-versions", "rfc6455,hybi-99"], "--protocol-versions", "'hybi-99'"
        )

    def test_badEndpoint(self) -> None:
        """
        An endpoint description that does not parse is refused, naming it.
        """
        self.assertRefused(["--listen", "tcp:notaport"], "--listen", "'tcp:notaport'")
        self.assertRefused(["--listen", "bogus:1234"], "--listen", "'bogus:1234'")

    def test_sslMissingCertificate(self) -> None:
        """
        An C{ssl:} endpoint whose certificate file is missing is refused when
        the options are parsed, not when the server starts.
        """
        missing = os.path.abspath(self.mktemp())
        self.assertRefused(
            ["--listen", f"ssl:0:privateKey={missing}:certKey={missing}"], "--listen", "ssl:0"
        )

    def test_badPath(self) -> None:
        """
        A path that does not start with a slash is refused.
        """
        self.assertRefused(["--path", "ws"], "--path", "'ws'")

    def test_badStatic(self) -> None:
        """
        A static directory that does not exist is refused.
        """
        self.assertRefused(["--static", self.mktemp()], "--static", "not a directory")

    def test_unknownApp(self) -> None:
        """
        An application that is neither built in nor importable is refused
        with the reason.
        """
        self.assertRefused(["--app", "nosuchapp"], "--app", "'nosuchapp'", "built-in")
        self.assertRefused(
            ["--app", "no_such_package_xyz.Factory"], "'no_such_package_xyz.Factory'", "cannot import"
        )
        sample = installSampleModule(self)
        self.assertRefused(["--app", f"{sample}:nothing"], "has no attribute 'nothing'")
        self.assertRefused(["--app", f"{sample}.notAnApp"], "an integer")

    def test_userProtocolClass(self) -> None:
        """
        C{--app package.module:ProtocolClass} serves that protocol class,
        with the library options given on the command line.
        """
        sample = installSampleModule(self)
        config = parse("--app", f"{sample}:SampleProtocol", "--max-frame-size", "1000")
        [built] = tap.makeFactories(config["server"])
        app, factory = built.config, built.factory
        self.assertEqual(app.path, "/ws")
        self.assertIsInstance(factory, WebSocketServerFactory)
        self.assertIs(factory.protocol, sys.modules[sample].SampleProtocol)
        self.assertEqual(factory.options.maxFrameSize, 1000)

    def test_userFactoryCallable(self) -> None:
        """
        C{--app package.module.callable} serves the factory the callable
        returns when given the options.
        """
        sample = installSampleModule(self)
        config = parse("--app", f"{sample}.makeSampleFactory", "--open-timeout", "2")
        [built] = tap.makeFactories(config["server"])
        factory = built.factory
        self.assertTrue(factory.madeBySample)
        self.assertEqual(factory.options.openTimeout, 2.0)

    def test_compression(self) -> None:
        """
        C{--compression} is accepted when the codec has permessage-deflate;
        otherwise it stops with a message that says so.
        """
        try:
            tap.compressionExtensions()
        except tap.ConfigError:
            self.assertRefused(["--compression"], "permessage-deflate")
        else:
            options = libraryOptions(parse("--compression"))
            self.assertTrue(options.extensions)


class ConfigFileTests(SynchronousTestCase):
    """
    Settings from a TOML file given with C{--config}.
    """

    def writeConfig(self, text: str) -> str:
        """
        Write C{text} (dedented) to a new file and return its path.
        """
        path = self.mktemp()
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        return path

    def test_everySetting(self) -> None:
        """
        Every key of the file sets the same thing as its command-line option,
        and several applications each get a path and their own settings.
        """
        directory = self.mktemp()
        os.mkdir(directory)
        path = self.writeConfig(
            f"""
            listen = ["tcp:0:interface=127.0.0.1", 'tcp:0:interface=\\:\\:1']
            static = {json.dumps(directory)}
            versions = ["rfc6455", "hybi-08"]
            allowed-origin = ["https://example.com"]
            subprotocol = "chat.v1"
            max-message-size = 1048576
            max-frame-size = "512KiB"
            open-timeout = 5
            close-timeout = 2.5
            ping-interval = 20
            ping-timeout = 10

            [[app]]
            path = "/chat"
            name = "chat"

            [[app]]
            path = "/echo"
            name = "echo"
            max-message-size = "20MiB"
            """
        )
        config = parse("--config", path)
        server = config["server"]
        self.assertEqual(server.listen, ["tcp:0:interface=127.0.0.1", "tcp:0:interface=\\:\\:1"])
        self.assertEqual(server.static, directory)
        self.assertEqual([(a.name, a.path) for a in server.apps], [("chat", "/chat"), ("echo", "/echo")])
        chatOptions = libraryOptions(config, 0)
        echoOptions = libraryOptions(config, 1)
        self.assertEqual(chatOptions.versions, frozenset({Version.RFC6455, Version.HYBI08}))
        self.assertEqual(chatOptions.allowedOrigins, ("https://example.com",))
        self.assertEqual(chatOptions.subprotocols, ("chat.v1",))
        self.assertEqual(chatOptions.maxMessageSize, 1048576)
        self.assertEqual(chatOptions.maxFrameSize, 512 * 1024)
        self.assertEqual(
            (chatOptions.openTimeout, chatOptions.closeTimeout), (5.0, 2.5)
        )
        self.assertEqual((chatOptions.pingInterval, chatOptions.pingTimeout), (20.0, 10.0))
        self.assertEqual(echoOptions.maxMessageSize, 20 * 1024 * 1024)
        self.assertEqual(echoOptions.maxFrameSize, 512 * 1024)

    def test_commandLineWins(self) -> None:
        """
        An option given on the command line replaces the file's value.
        """
        path = self.writeConfig(
            """
            listen = "tcp:1234"
            app = "echo"
            max-message-size = 1000
            """
        )
        config = parse("--config", path, "--listen", "tcp:0", "--max-message-size", "2000")
        self.assertEqual(config["server"].listen, ["tcp:0"])
        self.assertEqual(config["server"].apps[0].name, "echo")
        self.assertEqual(config["server"].apps[0].path, "*")
        self.assertEqual(libraryOptions(config).maxMessageSize, 2000)

    def assertConfigError(self, text: str, *fragments: str) -> str:
        """
        Parsing a file holding C{text} raises L{tap.ConfigurationError} naming the
        file and holding every one of C{fragments}.
        """
        path = self.writeConfig(text)
        error = self.assertRaises(tap.ConfigurationError, parse, "--config", path)
        self.assertIn(path, str(error))
        for fragment in fragments:
            self.assertIn(fragment, str(error))
        return str(error)

    def test_unknownKey(self) -> None:
        """
        An unknown key is refused, naming it.
        """
        self.assertConfigError('lisen = "tcp:80"\n', "unknown key 'lisen'")

    def test_unknownAppKey(self) -> None:
        """
        An unknown key in an C{[[app]]} table is refused, naming the table
        and the key.
        """
        self.assertConfigError(
            '[[app]]\nname = "echo"\npath = "/e"\n\n[[app]]\nname = "chat"\nroom = "x"\n',
            "app[2]", "unknown key 'room'",
        )

    def test_wrongType(self) -> None:
        """
        A value of the wrong type is refused, naming the key and the type.
        """
        self.assertConfigError("max-message-size = true\n", ": max-message-size:", "a boolean")
        self.assertConfigError("listen = 8080\n", ": listen:", "an integer")
        self.assertConfigError("compression = \"yes\"\n", ": compression:", "true or false")
        self.assertConfigError('[[app]]\nname = "echo"\nopen-timeout = "x"\n', "app[1]", "open-timeout")

    def test_appWithoutName(self) -> None:
        """
        An C{[[app]]} table without C{name} is refused.
        """
        self.assertConfigError('[[app]]\npath = "/x"\n', "app[1]", "'name' is missing")

    def test_samePathTwice(self) -> None:
        """
        Two applications on one path are refused.
        """
        self.assertConfigError(
            '[[app]]\nname = "echo"\npath = "/x"\n[[app]]\nname = "chat"\npath = "/x/"\n',
            "'/x' is already used",
        )

    def test_badEndpoint(self) -> None:
        """
        A bad endpoint string in the file is refused, naming it.
        """
        path = self.writeConfig('listen = ["tcp:80", "tcp:eighty"]\n')
        error = self.assertRaises(tap.ConfigurationError, parse, "--config", path)
        self.assertIn("'tcp:eighty'", str(error))

    def test_notToml(self) -> None:
        """
        A file that is not TOML is refused with the parser's reason.
        """
        self.assertConfigError("listen = [\n", "not valid TOML")

    def test_missingFile(self) -> None:
        """
        A configuration file that cannot be read is refused.
        """
        path = self.mktemp()
        error = self.assertRaises(tap.ConfigurationError, parse, "--config", path)
        self.assertIn("cannot read", str(error))
        self.assertIn(path, str(error))

    def test_pathWithSeveralApps(self) -> None:
        """
        C{--path} cannot be combined with several C{[[app]]} tables.
        """
        path = self.writeConfig('[[app]]\nname = "echo"\npath = "/e"\n')
        error = self.assertRaises(tap.ConfigurationError, parse, "--config", path, "--path", "/x")
        self.assertIn("--path", str(error))


def render(resource, path: bytes, upgrade: bool = False) -> DummyRequest:
    """
    Find the resource for C{path} below the site root C{resource} and
    return a request for it (without rendering it).
    """
    request = DummyRequest(path.lstrip(b"/").split(b"/"))
    if upgrade:
        request.requestHeaders.setRawHeaders(b"upgrade", [b"WebSocket"])
    site = server.Site(resource)
    request.site = site
    request.found = site.getResourceFor(request)
    return request


class ServiceTests(SynchronousTestCase):
    """
    The service and factories that L{tap.makeService} builds.
    """

    def test_listensOnEveryEndpoint(self) -> None:
        """
        One listening service per C{--listen}, all with the same factory.
        """
        config = parse("--listen", "tcp:0", "--listen", "tcp:0:interface=\\:\\:1")
        reactor = MemoryReactor()
        service = tap.makeService(config, reactor)
        service.privilegedStartService()
        service.startService()
        self.addCleanup(service.stopService)
        self.assertEqual(len(reactor.tcpServers), 2)
        self.assertEqual(reactor.tcpServers[1][3], "::1")
        self.assertIs(reactor.tcpServers[0][1], reactor.tcpServers[1][1])

    def test_demoSite(self) -> None:
        """
        By default a web site serves the chat page at C{/}, its settings at
        C{/config.json}, and the chat application at C{/ws}.
        """
        site = tap.makeRootFactory(parse()["server"])
        self.assertIsInstance(site, server.Site)
        found = render(site.resource, b"/ws", upgrade=True).found
        self.assertIsInstance(found, WebSocketResource)
        self.assertIsInstance(found.factory, chat.ChatFactory)
        index = render(site.resource, b"/").found
        self.assertIsInstance(index, static.File)
        self.assertEqual(os.path.basename(index.path), "index.html")
        self.assertTrue(os.path.isfile(index.path))
        settings = render(site.resource, b"/config.json").found
        self.assertEqual(json.loads(settings.data), {"path": "/ws"})

    def test_echoBare(self) -> None:
        """
        The echo application on every path, with no static files, is served
        by its own factory straight on the endpoint.
        """
        factory = tap.makeRootFactory(parse("--app", "echo")["server"])
        self.assertIsInstance(factory, WebSocketServerFactory)
        self.assertIs(factory.protocol, echo.EchoProtocol)

    def test_echoEveryPathWithStatic(self) -> None:
        """
        The echo application on every path beside static files: WebSocket
        requests on any path reach the echo application and other requests
        reach the files.
        """
        directory = self.mktemp()
        os.mkdir(directory)
        with open(os.path.join(directory, "x"), "w") as f:
            f.write("a file")
        site = tap.makeRootFactory(parse("--app", "echo", "--static", directory)["server"])
        for path in (b"/", b"/x", b"/a/b/c"):
            found = render(site.resource, path, upgrade=True).found
            self.assertIsInstance(found, WebSocketResource)
        self.assertIsInstance(render(site.resource, b"/x").found, static.File)

    def test_severalApps(self) -> None:
        """
        Applications of a configuration file are each served on their path,
        nested paths included, and the demo page learns the chat path.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(
                '[[app]]\nname = "chat"\npath = "/rooms/chat"\n'
                '[[app]]\nname = "echo"\npath = "/echo"\n'
            )
        site = tap.makeRootFactory(parse("--config", path)["server"])
        chatResource = render(site.resource, b"/rooms/chat", upgrade=True).found
        echoResource = render(site.resource, b"/echo", upgrade=True).found
        self.assertIsInstance(chatResource.factory, chat.ChatFactory)
        self.assertIs(echoResource.factory.protocol, echo.EchoProtocol)
        settings = render(site.resource, b"/config.json").found
        self.assertEqual(json.loads(settings.data), {"path": "/rooms/chat"})


CONTEXT_MODULE = """
from twisted.application.service import Service
from twisted_ws import WebSocketServerFactory, WebSocketProtocol

seen = []

class Hub(Service):
    pass

def makeWithContext(context):
    seen.append(context)
    hub = context.getShared("hub", Hub)
    factory = WebSocketServerFactory(WebSocketProtocol, options=context.options)
    factory.hub = hub
    return factory

def makeWithOptions(options):
    seen.append(options)
    return WebSocketServerFactory(WebSocketProtocol, options=options)

def makeFactory(options):
    raise AssertionError("makeFactoryFor should win")

def makeFactoryFor(context):
    return makeWithContext(context)

defaultOptions = {"maxFrameSize": 4321}
"""


def installModule(testCase: SynchronousTestCase, source: str) -> Any:
    """
    Write C{source} as a module importable for the duration of C{testCase}
    and return the imported module.
    """
    directory = os.path.abspath(testCase.mktemp())
    os.makedirs(directory)
    name = "twisted_ws_context_" + str(abs(hash(directory)))
    with open(os.path.join(directory, name + ".py"), "w") as f:
        f.write(source)
    sys.path.insert(0, directory)
    testCase.addCleanup(sys.path.remove, directory)
    testCase.addCleanup(sys.modules.pop, name, None)
    return importlib.import_module(name)


class AppContextTests(SynchronousTestCase):
    """
    Applications are built from an L{AppContext}, or from their options.
    """

    def test_contextParameter(self) -> None:
        """
        A callable whose first parameter is C{context} is given the
        L{AppContext}: the application's options, the server's reactor, its
        name and path.
        """
        module = installModule(self, CONTEXT_MODULE)
        config = parse("--app", f"{module.__name__}.makeWithContext", "--open-timeout", "3")
        reactor = MemoryReactor()
        [built] = tap.makeFactories(config["server"], reactor)
        [context] = module.seen
        self.assertIsInstance(context, tap.AppContext)
        self.assertIs(context.reactor, reactor)
        self.assertEqual((context.name, context.path), (f"{module.__name__}.makeWithContext", "/ws"))
        self.assertEqual(context.options.openTimeout, 3.0)
        self.assertIs(built.factory.options, context.options)

    def test_optionsParameter(self) -> None:
        """
        A callable whose first parameter has another name is given the
        L{twisted_ws.Options}, as before contexts existed.
        """
        module = installModule(self, CONTEXT_MODULE)
        config = parse("--app", f"{module.__name__}.makeWithOptions", "--open-timeout", "3")
        tap.makeFactories(config["server"], MemoryReactor())
        [options] = module.seen
        self.assertIsInstance(options, LibraryOptions)
        self.assertEqual(options.openTimeout, 3.0)

    def test_takesContext(self) -> None:
        """
        A callable wants the context if its first parameter is named
        C{context} or annotated L{AppContext}; otherwise, or with no
        parameter, it does not.
        """
        from twisted_ws.twistd._apps import takesContext

        def annotated(ctx: tap.AppContext) -> None:
            pass

        self.assertTrue(takesContext(lambda context: None))
        self.assertTrue(takesContext(annotated))
        self.assertFalse(takesContext(lambda options: None))
        self.assertFalse(takesContext(lambda: None))
        self.assertFalse(takesContext(print))

    def test_builtinMakeFactoryFor(self) -> None:
        """
        A built-in application's module with C{makeFactoryFor(context)} is
        built with it (not with its C{makeFactory}), under its
        C{defaultOptions}.
        """
        module = installModule(self, CONTEXT_MODULE)
        tap.BUILTIN_APPS["ctx"] = module.__name__
        self.addCleanup(tap.BUILTIN_APPS.pop, "ctx")
        loaded = tap.loadApp("ctx")
        self.assertEqual(loaded.defaults, {"maxFrameSize": 4321})
        factory = loaded.build(tap.AppContext("ctx", "/x", LibraryOptions(), MemoryReactor()))
        self.assertEqual(len(module.seen), 1)
        self.assertIsInstance(factory, WebSocketServerFactory)

    def test_builtinApps(self) -> None:
        """
        The built-in applications, which offer C{makeFactory(options)}, are
        built with the options of their context.
        """
        for name in ("echo", "chat"):
            loaded = tap.loadApp(name)
            options = LibraryOptions(maxFrameSize=999)
            factory = loaded.build(tap.AppContext(name, "/x", options, MemoryReactor()))
            self.assertEqual(factory.options.maxFrameSize, 999, name)

    def test_sharedServiceInTree(self) -> None:
        """
        An object two applications share through the context is made once,
        and, being a service, is part of the running server, started after
        the ports listen and stopped with the server.
        """
        module = installModule(self, CONTEXT_MODULE)
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(
                f'[[app]]\nname = "{module.__name__}.makeWithContext"\npath = "/a"\n'
                f'[[app]]\nname = "{module.__name__}.makeWithContext"\npath = "/b"\n'
            )
        reactor = MemoryReactor()
        top = tap.makeService(parse("--config", path, "--listen", "tcp:0"), reactor)
        first, second = module.seen
        hub = first.shared["hub"]
        self.assertIs(second.shared["hub"], hub)
        self.assertIsInstance(hub, module.Hub)
        self.assertIs(hub.parent.parent, top)
        top.privilegedStartService()
        top.startService()
        self.assertTrue(hub.running)
        self.assertEqual(len(reactor.tcpServers), 1)
        top.stopService()
        self.assertFalse(hub.running)

    def test_workingDirectoryOnPath(self) -> None:
        """
        A module in the directory twistd was started in is found, as
        C{--app game:Shout} in the manual expects, though that directory is
        not on the path.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "twisted_ws_cwd_game.py"), "w") as f:
            f.write("from twisted_ws import WebSocketProtocol\nclass Shout(WebSocketProtocol):\n    pass\n")
        here = os.getcwd()
        savedPath = list(sys.path)
        self.addCleanup(os.chdir, here)
        self.addCleanup(sys.path.__setitem__, slice(None), savedPath)
        self.addCleanup(sys.modules.pop, "twisted_ws_cwd_game", None)
        sys.path[:] = [p for p in sys.path if p not in ("", ".", directory)]
        os.chdir(directory)
        loaded = tap.loadApp("twisted_ws_cwd_game:Shout")
        factory = loaded.makeFactory(LibraryOptions(), MemoryReactor())
        self.assertEqual(factory.protocol.__name__, "Shout")
        self.assertEqual(sys.path[0], directory)


class ProblemsTests(SynchronousTestCase):
    """
    Every problem of the configuration is reported at once, one short line
    each, naming the file, the key and the problem.
    """

    def documentedToml(self) -> str:
        """
        The TOML example of docs/twistd.rst.
        """
        import twisted_ws

        root = os.path.dirname(os.path.dirname(os.path.abspath(twisted_ws.__file__)))
        with open(os.path.join(root, "docs", "twistd.rst"), encoding="utf-8") as f:
            page = f.read()
        block = page[page.index(".. code-block:: toml") :].split("\n\n", 1)[1]
        lines = []
        for line in block.splitlines():
            if line and not line.startswith("    "):
                break
            lines.append(line[4:])
        return "\n".join(lines).strip() + "\n"

    def test_documentedExampleBroken(self) -> None:
        """
        The manual's TOML example, broken in several ways at once, gives one
        line per problem, each naming the file and the key (an C{[[app]]}
        table by its 1-based number and path), and no usage text.
        """
        text = self.documentedToml()
        self.assertIn('name = "mypackage.game:GameProtocol"', text)
        text = text.replace("ping-interval = 30", "ping-intervl = 30")
        text = text.replace('max-message-size = "16MiB"', "max-message-size = true")
        text = text.replace('"hixie-76"]', '"hixie-77"]')
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(text)
        error = self.assertRaises(tap.ConfigurationError, parse, "--config", path)
        expected = [
            f"{path}: unknown key 'ping-intervl' (did you mean 'ping-interval'?)",
            f"{path}: protocol-versions: unknown protocol version 'hixie-77'",
            f"{path}: app[2] (/echo): max-message-size: expected a size in bytes, got a boolean",
            f"{path}: app[3] (/game): name 'mypackage.game:GameProtocol': cannot import module "
            "'mypackage.game': No module named 'mypackage'",
        ]
        if not os.path.isdir("/srv/www"):
            expected.append(f"{path}: static: '/srv/www' is not a directory")
        if not os.path.exists("/etc/ws/fullchain.pem"):
            expected.append(f"{path}: listen 'ssl:8443:privateKey=/etc/ws/key.pem:certKey=/etc/ws/fullchain.pem': ")
        self.assertEqual(len(error.problems), len(expected), error.problems)
        for fragment in expected:
            self.assertEqual(len([p for p in error.problems if p.startswith(fragment)]), 1, fragment)
        self.assertEqual(error.code, "\n".join("twistd websocket: " + p for p in error.problems))
        self.assertNotIn("Usage", str(error))
        self.assertIsInstance(error, SystemExit)

    def test_documentedExampleParses(self) -> None:
        """
        The manual's TOML example has no problem of its own: with its
        directories and files made and its application importable, it
        parses.
        """
        text = self.documentedToml()
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        text = text.replace('"/srv/www"', json.dumps(directory))
        text = text.replace('"ssl:8443:privateKey=/etc/ws/key.pem:certKey=/etc/ws/fullchain.pem",', "")
        sample = installSampleModule(self)
        text = text.replace("mypackage.game:GameProtocol", f"{sample}:SampleProtocol")
        path = os.path.join(directory, "websocket.toml")
        with open(path, "w") as f:
            f.write(text)
        server = parse("--config", path)["server"]
        self.assertEqual([a.path for a in server.apps], ["/chat", "/echo", "/game"])
        self.assertEqual(server.settings["ping-interval"], 30.0)

    def test_commandLineAndFileTogether(self) -> None:
        """
        Problems of the command line and of the file are reported together,
        the command line's named by option.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write('static = "/no/such/dir"\nlisten = "tcp:x"\n')
        error = self.assertRaises(
            tap.ConfigurationError, parse, "--config", path, "--open-timeout", "soon", "--path", "ws"
        )
        self.assertEqual(
            [p.split(":")[0] for p in error.problems[:2]], ["--open-timeout", "--path"]
        )
        self.assertIn(f"{path}: static: '/no/such/dir' is not a directory", error.problems)
        self.assertTrue(any(p.startswith(f"{path}: listen 'tcp:x': ") for p in error.problems))
        self.assertEqual(len(error.problems), 4)

    def test_staticFromCommandLine(self) -> None:
        """
        A bad C{--static} given on the command line is named as the option,
        even when the file also sets one.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write('static = "/also/missing"\n')
        error = self.assertRaises(tap.ConfigurationError, parse, "--config", path, "--static", "/nope")
        self.assertEqual(error.problems, ["--static: '/nope' is not a directory"])


class HelpTests(SynchronousTestCase):
    """
    The option table and its C{--help} text come from the fields' metadata.
    """

    def helpOf(self, name: str) -> str:
        """
        The C{--help} text of option C{name}, on one line.
        """
        method = getattr(tap.Options, "opt_" + name.replace("-", "_"))
        return " ".join(method.__doc__.split())

    def test_everyOptionField(self) -> None:
        """
        Every field of L{twisted_ws.Options} that names an option has that
        option, with its metadata's help text; the others have none.
        """
        import dataclasses

        for f in dataclasses.fields(LibraryOptions):
            name = f.metadata["option"]
            if name is None:
                continue
            self.assertTrue(self.helpOf(name).startswith(" ".join(f.metadata["help"].split())), name)
        self.assertEqual(
            {o.field for o in tap.LIBRARY_OPTIONS},
            {f.name for f in dataclasses.fields(LibraryOptions) if f.metadata["option"]},
        )

    def test_sizeHelp(self) -> None:
        """
        The size options say they take KiB and MiB, and give the library's
        default and the built-in applications' own.
        """
        for name in ("max-message-size", "max-frame-size"):
            text = self.helpOf(name)
            self.assertIn("KiB, MiB", text, name)
            self.assertIn("[default: 1 MiB (echo 32 MiB, chat 64 KiB)]", text, name)

    def test_versionsHelp(self) -> None:
        """
        C{--protocol-versions} lists every version and its other names from
        the codec's one table; C{--versions} says it is deprecated.
        """
        text = self.helpOf("protocol-versions")
        for version in Version:
            self.assertIn(version.label, text)
        self.assertIn("hixie-76 (hybi-00)", text)
        self.assertIn("deprecated", self.helpOf("versions").lower())
        self.assertEqual(
            tap.VERSION_ALIASES, {n: v.label for v in Version for n in v.names}
        )

    def test_versionsDeprecated(self) -> None:
        """
        C{--versions} and the file key C{versions} still work, each with a
        notice to use the new name.
        """
        options = tap.Options()
        options._reactor = MemoryReactor()
        options.stderr = io.StringIO()
        options.parseOptions(["--versions", "rfc6455"])
        self.assertEqual(options["server"].settings, {"protocol-versions": ("rfc6455",)})
        self.assertIn("--versions: deprecated", options.stderr.getvalue())
        self.assertIn("--protocol-versions", options.stderr.getvalue())
        path = self.mktemp()
        with open(path, "w") as f:
            f.write('versions = ["hybi-08"]\n')
        options = tap.Options()
        options._reactor = MemoryReactor()
        options.stderr = io.StringIO()
        options.parseOptions(["--config", path])
        self.assertEqual(libraryOptions(options).versions, frozenset({Version.HYBI08}))
        self.assertIn(f"{path}: versions: deprecated; use 'protocol-versions'", options.stderr.getvalue())


class ListeningTests(SynchronousTestCase):
    """
    What the server says about its ports.
    """

    def test_portInUse(self) -> None:
        """
        A port in use is said in one line with what to do.
        """
        from twisted_ws.twistd._services import listenFailure

        error = CannotListenError("127.0.0.1", 8080, OSError(errno.EADDRINUSE, "in use"))
        self.assertEqual(
            listenFailure("tcp:8080", error),
            "twistd websocket: port 8080 is in use: pass --listen tcp:PORT to listen on another port",
        )
        other = CannotListenError("", 80, OSError(errno.EACCES, "Permission denied"))
        self.assertIn("cannot listen on 'tcp:80'", listenFailure("tcp:80", other))

    def test_servingLoggedOnceListening(self) -> None:
        """
        The line saying what is served is logged when the service starts
        (after its ports are open), not when it is built.
        """
        events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        top = tap.makeService(parse("--listen", "tcp:0"), MemoryReactor())
        self.assertEqual([e for e in events if "serving" in e.get("log_format", "")], [])
        top.privilegedStartService()
        top.startService()
        self.addCleanup(top.stopService)
        served = [e for e in events if "serving" in e.get("log_format", "")]
        self.assertEqual([(e["name"], e["path"]) for e in served], [("chat", "/ws")])
