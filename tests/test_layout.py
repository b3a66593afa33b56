"""
Tests of the test suite's own layout: test modules share helpers through
C{tests._support} and never import one another, so that each one can be
read, run and changed on its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

TESTS = Path(__file__).resolve().parent


def importedModules(source: str, package: str) -> list[tuple[int, str]]:
    """
    The absolute names of the modules that C{source}, a module of
    C{package}, imports, each with its line number.

    A relative import is resolved against C{package}; for C{from X import
    a, b}, both C{X} and C{X.a}, C{X.b} are listed, since C{a} may be a
    module.

    @param source: Python source text.
    @param package: the dotted name of the package the module is in.
    @return: (line, module name) pairs, in the order of the source.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return sorted(found)


def testModuleImports(directory: Path, package: str = "tests") -> list[str]:
    """
    Every import of a test module (C{test_*.py}) found in the Python files
    of C{directory} and of its C{_support} package.

    @return: one line per offending import, C{"file:line imports module"}.
    """
    problems = []
    files = sorted(directory.glob("*.py")) + sorted(directory.glob("_support/*.py"))
    for path in files:
        inPackage = package if path.parent == directory else f"{package}._support"
        for line, module in importedModules(path.read_text(encoding="utf-8"), inPackage):
            parts = module.split(".")
            if len(parts) >= 2 and parts[0] == package and parts[1].startswith("test_"):
                problem = f"{path.relative_to(directory.parent)}:{line} imports {package}.{parts[1]}"
                if problem not in problems:
                    problems.append(problem)
    return problems


class ImportedModulesTests(SynchronousTestCase):
    """
    L{importedModules} resolves the imports the layout check looks at.
    """

    def test_relative(self) -> None:
        """
        A relative import is resolved against the module's package.
        """
        self.assertIn((1, "tests.test_protocol"), importedModules("from .test_protocol import Peer\n", "tests"))
        self.assertIn(
            (1, "tests.test_codec_handshake"),
            importedModules("from ..test_codec_handshake import feed\n", "tests._support"),
        )

    def test_fromPackage(self) -> None:
        """
        C{from . import test_x} names the module C{test_x} of the package.
        """
        self.assertIn((1, "tests.test_apps"), importedModules("from . import test_apps\n", "tests"))

    def test_absolute(self) -> None:
        """
        Plain and absolute imports keep their names.
        """
        found = importedModules("import tests.test_twistd\nfrom tests.test_apps import Client\n", "tests")
        self.assertIn((1, "tests.test_twistd"), found)
        self.assertIn((2, "tests.test_apps"), found)


class LayoutTests(SynchronousTestCase):
    """
    The test modules of this tree.
    """

    def test_checkFindsAnImportOfATestModule(self) -> None:
        """
        The check reports a test module that imports another one, however it
        is spelled, and accepts imports from C{_support}.
        """
        directory = Path(self.mktemp())
        (directory / "_support").mkdir(parents=True)
        (directory / "test_a.py").write_text("from .test_b import helper\nfrom ._support.x import y\n")
        (directory / "test_b.py").write_text("def helper():\n    pass\n")
        (directory / "test_c.py").write_text("if True:\n    from tests import test_b\n")
        (directory / "_support" / "x.py").write_text("from ..test_b import helper\ny = helper\n")
        self.assertEqual(
            testModuleImports(directory, "tests"),
            [
                f"{directory.name}/test_a.py:1 imports tests.test_b",
                f"{directory.name}/test_c.py:2 imports tests.test_b",
                f"{directory.name}/_support/x.py:1 imports tests.test_b",
            ],
        )

    def test_noTestModuleImportsAnother(self) -> None:
        """
        No test module, and no helper in C{tests._support}, imports a test
        module: what they share lives in C{tests._support}.
        """
        self.assertEqual(testModuleImports(TESTS), [])

    def test_supportIsAPackage(self) -> None:
        """
        C{tests._support} is a package, importable by the test modules.
        """
        self.assertTrue((TESTS / "_support" / "__init__.py").is_file())
