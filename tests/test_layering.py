"""
Tests that imports flow one way through the package: the twistd plugin ->
C{twisted_ws.tap} and C{twisted_ws.twistd} -> the Twisted layer -> the codec,
and that nothing outside the codec imports the codec's private modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

PACKAGE = Path(__file__).resolve().parent.parent / "twisted_ws"


def importsOf(path: Path) -> set[str]:
    """
    The absolute names of the modules that the module at C{path} imports
    (relative imports resolved against its place in the package).
    """
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        package = parts
    else:
        package = parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def modules(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        yield path, importsOf(path)


class LayeringTests(SynchronousTestCase):
    """
    The picture of the package's imports.
    """

    def test_codecImportsOnlyItself(self) -> None:
        """
        No codec module imports Twisted, zope or the rest of twisted_ws.
        """
        for path, names in modules(PACKAGE / "codec"):
            for name in names:
                top = name.split(".")[0]
                self.assertNotIn(top, ("twisted", "zope"), (path.name, name))
                if top == "twisted_ws":
                    self.assertTrue(name.startswith("twisted_ws.codec"), (path.name, name))

    def test_codecPrivatesStayInside(self) -> None:
        """
        Outside the codec, only C{twisted_ws.codec} itself (its public
        names) is imported, never one of its private modules.
        """
        for path in sorted(PACKAGE.rglob("*.py")):
            if (PACKAGE / "codec") in path.parents:
                continue
            for name in importsOf(path):
                if name.startswith("twisted_ws.codec."):
                    rest = name[len("twisted_ws.codec.") :]
                    self.assertFalse(rest.startswith("_"), (str(path.relative_to(PACKAGE)), name))

    def test_layerDoesNotImportTwistd(self) -> None:
        """
        The Twisted layer, the apps and the hub do not import the twistd
        plugin's modules: the plugin builds on them, not the other way.
        """
        for path in sorted(PACKAGE.rglob("*.py")):
            rel = path.relative_to(PACKAGE)
            if rel.parts[0] in ("twistd",) or rel.name == "tap.py":
                continue
            for name in importsOf(path):
                self.assertFalse(
                    name == "twisted_ws.tap" or name.startswith("twisted_ws.twistd"),
                    (str(rel), name),
                )
