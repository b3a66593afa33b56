"""
Tests for the pure parts of the client conformance run: the URLs and answers
of C{compliance/client_driver.py} and the strict verdict of
C{compliance/run client}.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

from twisted.trial import unittest

COMPLIANCE = Path(__file__).resolve().parent.parent / "compliance"


def load(name: str, path: Path) -> ModuleType:
    """
    Import a script of the compliance directory as a module.

    @param name: the module's name.
    @param path: the script.
    @return: the module.
    """
    loader = SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules.
    sys.modules[name] = module
    loader.exec_module(module)
    return module


driver = load("compliance_client_driver", COMPLIANCE / "client_driver.py")
runner = load("compliance_run", COMPLIANCE / "run")


class URLTests(unittest.TestCase):
    """
    The fuzzing server's URLs, as the driver builds them.
    """

    def test_caseCount(self) -> None:
        """The case count is asked of /getCaseCount, with or without a trailing slash."""
        self.assertEqual(driver.caseCountURL("ws://127.0.0.1:9001"), "ws://127.0.0.1:9001/getCaseCount")
        self.assertEqual(driver.caseCountURL("ws://127.0.0.1:9001/"), "ws://127.0.0.1:9001/getCaseCount")

    def test_runCase(self) -> None:
        """A case is run by its number and the agent name."""
        self.assertEqual(driver.runCaseURL("ws://h:1", 17), "ws://h:1/runCase?case=17&agent=twisted_ws")

    def test_runCaseQuotesAgent(self) -> None:
        """An agent name with spaces or ampersands is quoted in the query."""
        self.assertEqual(driver.runCaseURL("ws://h:1", 1, "a b&c"), "ws://h:1/runCase?case=1&agent=a%20b%26c")

    def test_runCaseFromOne(self) -> None:
        """Case numbers start at 1; 0 is refused with a clear error."""
        error = self.assertRaises(ValueError, driver.runCaseURL, "ws://h:1", 0)
        self.assertIn("start at 1", str(error))

    def test_updateReports(self) -> None:
        """The reports are asked for with the agent name."""
        self.assertEqual(driver.updateReportsURL("ws://h:1"), "ws://h:1/updateReports?agent=twisted_ws")


class CaseCountTests(unittest.TestCase):
    """
    The answer to /getCaseCount.
    """

    def test_number(self) -> None:
        """A whole number, with surrounding white space, is the count."""
        self.assertEqual(driver.parseCaseCount(" 517\n"), 517)

    def test_notANumber(self) -> None:
        """Anything else is a ValueError that quotes the answer."""
        for text in ("", "-3", "5 cases", "1.5"):
            error = self.assertRaises(ValueError, driver.parseCaseCount, text)
            self.assertIn(repr(text), str(error))


class OptionsTests(unittest.TestCase):
    """
    The client's settings for the suite.
    """

    def test_suiteSettings(self) -> None:
        """Messages and frames of 16 MiB pass, no keepalive pings, automatic pongs."""
        options = driver.clientOptions()
        self.assertEqual(options.maxMessageSize, 16 * 2**20)
        self.assertEqual(options.maxFrameSize, 16 * 2**20)
        self.assertIsNone(options.pingInterval)
        self.assertTrue(options.autoPong)


def outcome(caseId: str, behavior: str, close: str = "OK") -> object:
    """
    @param caseId: the case.
    @param behavior: its behaviour.
    @param close: its close behaviour.
    @return: a C{CaseOutcome} of the runner.
    """
    return runner.CaseOutcome(caseId=caseId, description="", behavior=behavior, behaviorClose=close,
                              remoteCloseCode=1000, duration=1, result="", resultClose="")


class ClientVerdictTests(unittest.TestCase):
    """
    The client run's verdict is the server's, except that NON-STRICT fails.
    """

    def summary(self, *outcomes: object, compression: bool = False) -> object:
        """
        @param outcomes: the cases.
        @param compression: whether permessage-deflate was offered.
        @return: a C{ClientSummary} of a complete run.
        """
        return runner.ClientSummary("client", "whole suite", 1, 1.0, list(outcomes), [], None,
                                    compression=compression)

    def test_nonStrictFails(self) -> None:
        """A NON-STRICT case fails a client run (status 1), naming the case."""
        s = self.summary(outcome("1.1.1", "OK"), outcome("6.4.1", "NON-STRICT"))
        self.assertEqual(s.exitCode(), runner.EXIT_FAILED)
        self.assertEqual([o.caseId for o, _ in s.failing()], ["6.4.1"])
        self.assertIn("NON-STRICT", s.failing()[0][1])

    def test_serverNonStrictPasses(self) -> None:
        """The same outcomes pass a server run, whose rule is kosoku's."""
        s = runner.Summary("server", "whole suite", 1, 1.0,
                           [outcome("1.1.1", "OK"), outcome("6.4.1", "NON-STRICT")], [], None)
        self.assertEqual(s.exitCode(), runner.EXIT_OK)

    def test_unimplementedCompression(self) -> None:
        """UNIMPLEMENTED 12.x passes without compression and fails with it."""
        self.assertEqual(self.summary(outcome("12.1.1", "UNIMPLEMENTED")).exitCode(), runner.EXIT_OK)
        s = self.summary(outcome("12.1.1", "UNIMPLEMENTED"), compression=True)
        self.assertEqual(s.exitCode(), runner.EXIT_FAILED)

    def test_failedSorted(self) -> None:
        """Failing cases are listed in case order, each once."""
        s = self.summary(outcome("7.1.1", "NON-STRICT"), outcome("5.10", "FAILED"),
                         outcome("5.2", "NON-STRICT", close="UNCLEAN"))
        self.assertEqual([o.caseId for o, _ in s.failing()], ["5.2", "5.10", "7.1.1"])

    def test_clientWording(self) -> None:
        """The rendered summary says a client was under test."""
        text = runner.asClientText(runner.renderText(self.summary(outcome("1.1.1", "OK"))))
        self.assertIn("client under test: client", text)
        self.assertNotIn("server under test", text)
