"""
Tests for L{twisted_ws._url}: WebSocket URLs as users write them.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws import InvalidURL, WebSocketURL
from twisted_ws._url import parseURL


class ParseURLTests(SynchronousTestCase):
    """
    L{parseURL} gives the host, port, request target and C{Host} header of
    a C{ws://} or C{wss://} URL, and refuses what is not one.
    """

    def test_defaultPorts(self) -> None:
        """
        Without a port, ws:// uses 80 and wss:// 443, and Host has no port.
        """
        plain = parseURL("ws://example.com/chat")
        self.assertEqual((plain.secure, plain.host, plain.port), (False, "example.com", 80))
        self.assertEqual(plain.hostHeader, "example.com")
        secure = parseURL("wss://example.com")
        self.assertEqual((secure.secure, secure.port, secure.resource), (True, 443, "/"))
        self.assertEqual(secure.hostHeader, "example.com")

    def test_explicitDefaultPort(self) -> None:
        """
        A port equal to the scheme's default is left out of Host.
        """
        self.assertEqual(parseURL("ws://example.com:80/").hostHeader, "example.com")
        self.assertEqual(parseURL("wss://example.com:443/").hostHeader, "example.com")

    def test_nonDefaultPort(self) -> None:
        """
        Any other port is in Host.
        """
        url = parseURL("wss://example.com:8443/x")
        self.assertEqual(url.port, 8443)
        self.assertEqual(url.hostHeader, "example.com:8443")

    def test_ipv6Literal(self) -> None:
        """
        An IPv6 literal in brackets is connected to without them, and Host
        keeps them.
        """
        url = parseURL("ws://[::1]:8080/")
        self.assertEqual((url.host, url.port), ("::1", 8080))
        self.assertTrue(url.isIPv6)
        self.assertEqual(url.hostHeader, "[::1]:8080")
        self.assertEqual(parseURL("ws://[2001:DB8::1]/").hostHeader, "[2001:db8::1]")

    def test_ipv6WithoutBrackets(self) -> None:
        """
        An IPv6 address without brackets is refused, saying how to write it.
        """
        e = self.assertRaises(InvalidURL, parseURL, "ws://::1:8080/")
        self.assertIn("brackets", str(e))

    def test_idnaHost(self) -> None:
        """
        An international host name is connected to, and sent, in its ASCII
        form.
        """
        url = parseURL("wss://bücher.example/ws")
        self.assertEqual(url.host, "xn--bcher-kva.example")
        self.assertEqual(url.hostHeader, "xn--bcher-kva.example")

    def test_hostLowerCased(self) -> None:
        """
        Host names are case-insensitive and sent in lower case.
        """
        self.assertEqual(parseURL("ws://Example.COM/").host, "example.com")

    def test_pathAndQuery(self) -> None:
        """
        The request target is the path and the query.
        """
        self.assertEqual(parseURL("ws://h/a/b?x=1&y=2").resource, "/a/b?x=1&y=2")
        self.assertEqual(parseURL("ws://h?x").resource, "/?x")
        self.assertEqual(parseURL("ws://h:9").resource, "/")

    def test_schemeCaseInsensitive(self) -> None:
        """
        The scheme may be written in capitals.
        """
        self.assertTrue(parseURL("WSS://h/").secure)

    def test_otherSchemes(self) -> None:
        """
        http://, https:// and others are refused, naming the scheme.
        """
        for url in ("http://h/", "https://h/", "ftp://h/", "h:80/", "//h/"):
            e = self.assertRaises(InvalidURL, parseURL, url)
            self.assertIn("ws:// or wss://", str(e))

    def test_fragment(self) -> None:
        """
        A URL with a fragment is refused.
        """
        e = self.assertRaises(InvalidURL, parseURL, "ws://h/chat#top")
        self.assertIn("fragment", str(e))

    def test_userInfo(self) -> None:
        """
        A URL with user information is refused, pointing to Authorization.
        """
        e = self.assertRaises(InvalidURL, parseURL, "ws://user:pw@h/")
        self.assertIn("Authorization", str(e))

    def test_badPorts(self) -> None:
        """
        Ports outside 1-65535, or not digits, are refused.
        """
        for url in ("ws://h:0/", "ws://h:65536/", "ws://h:x/", "ws://h:-1/", "ws://[::1]:/"):
            self.assertRaises(InvalidURL, parseURL, url)

    def test_noHost(self) -> None:
        """
        A URL without a host is refused.
        """
        self.assertRaises(InvalidURL, parseURL, "ws:///path")
        self.assertRaises(InvalidURL, parseURL, "ws://:80/")

    def test_spacesAndControls(self) -> None:
        """
        Spaces and control characters are refused, so nothing can be
        injected into the request.
        """
        for url in ("ws://h/a b", "ws://h/\r\nX: y", "ws://h\t/"):
            self.assertRaises(InvalidURL, parseURL, url)

    def test_nonASCIIPath(self) -> None:
        """
        A path that is not ASCII must be percent-encoded by the caller.
        """
        self.assertRaises(InvalidURL, parseURL, "ws://h/café")

    def test_badBrackets(self) -> None:
        """
        Brackets around something other than an IPv6 address are refused.
        """
        self.assertRaises(InvalidURL, parseURL, "ws://[127.0.0.1]/")
        self.assertRaises(InvalidURL, parseURL, "ws://[::1/")

    def test_notAString(self) -> None:
        """
        A URL given as bytes is refused clearly.
        """
        self.assertRaises(InvalidURL, parseURL, b"ws://h/")  # type: ignore[arg-type]

    def test_invalidURLIsValueError(self) -> None:
        """
        L{InvalidURL} is a L{ValueError} carrying the URL and the reason.
        """
        e = self.assertRaises(ValueError, parseURL, "http://h/")
        self.assertIsInstance(e, InvalidURL)
        self.assertEqual(e.url, "http://h/")


class JoinTests(SynchronousTestCase):
    """
    L{WebSocketURL.join} resolves a redirect's Location.
    """

    def test_relative(self) -> None:
        """
        A relative Location keeps the scheme, host and port.
        """
        base = parseURL("wss://h:8443/a/b?q")
        self.assertEqual(base.join("/c").url, "wss://h:8443/c")
        self.assertEqual(base.join("d?x=1").url, "wss://h:8443/a/d?x=1")

    def test_absolute(self) -> None:
        """
        An absolute ws://, wss://, http:// or https:// Location is taken as
        a WebSocket URL.
        """
        base = parseURL("ws://h/")
        self.assertEqual(base.join("ws://other:81/x"), parseURL("ws://other:81/x"))
        self.assertTrue(base.join("https://other/x").secure)
        self.assertFalse(base.join("http://other/x").secure)

    def test_otherScheme(self) -> None:
        """
        A Location with another scheme is refused.
        """
        self.assertRaises(InvalidURL, parseURL("ws://h/").join, "ftp://h/")

    def test_result(self) -> None:
        """
        The result is a L{WebSocketURL}.
        """
        self.assertIsInstance(parseURL("ws://h/").join("/x"), WebSocketURL)
