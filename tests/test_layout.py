"""
Tests of the tree's layout.

The test suite: test modules share helpers through C{tests._support} and
never import one another, so that each one can be read, run and changed on
its own.

The package: no module of C{twisted_ws} is over L{MODULE_LINES} lines, no
function over L{FUNCTION_LINES}, no class over L{CLASS_LINES}, except those
in the allowances below, which are ceilings (growing past one fails, and
one that is no longer needed fails too, so that it is removed); and
nothing outside the codec reaches for a private attribute of the codec's
objects.  (That
imports flow one way, plugin -> tap -> Twisted layer -> codec, is checked
by C{tests/test_layering.py}.)
"""

from __future__ import annotations

import ast
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "twisted_ws"

#: The most lines a module, a function and a class of the package may have.
MODULE_LINES = 500
FUNCTION_LINES = 60
CLASS_LINES = 250

#: The modules, functions and classes still over their bound, each with the
#: most lines it may have until it is split or shortened: lower these as
#: they shrink, never raise them.  Keys are a path under twisted_ws/, then
#: C{:} and the qualified name for functions and classes.
MODULE_ALLOWANCES = {
}
FUNCTION_ALLOWANCES = {
    "codec/_hybi.py:HybiFramer._parse": 94,
}
CLASS_ALLOWANCES = {
    "_wire.py:WireProtocol": 292,
    "codec/_hybi.py:HybiFramer": 337,
}


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


def sizes(package: Path) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """
    The length in lines of every module, function and class of C{package}.

    @return: three dicts (modules, functions, classes), keyed as the
        allowances are: the module's path relative to C{package}, then
        C{:} and the qualified name (C{Class.method}, C{function.inner}).
    """
    modules: dict[str, int] = {}
    functions: dict[str, int] = {}
    classes: dict[str, int] = {}

    def visit(node: ast.AST, where: str, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                length = (child.end_lineno or child.lineno) - child.lineno + 1
                found = classes if isinstance(child, ast.ClassDef) else functions
                found[f"{where}:{name}"] = length
                visit(child, where, name + ".")
            else:
                visit(child, where, prefix)

    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package).as_posix()
        source = path.read_text(encoding="utf-8")
        modules[where] = len(source.splitlines())
        visit(ast.parse(source), where, "")
    return modules, functions, classes


def overBounds(found: dict[str, int], bound: int, allowances: dict[str, int]) -> list[str]:
    """
    What in C{found} is over C{bound} lines and not allowed, or over its
    allowance; and every allowance that is no longer needed.

    @return: one readable line per problem.
    """
    problems = []
    for name, length in sorted(found.items()):
        allowed = allowances.get(name, bound)
        if length > allowed:
            problems.append(f"{name} is {length} lines, over {allowed}: split or shorten it")
    for name in sorted(allowances):
        length = found.get(name)
        if length is None or length <= bound:
            problems.append(f"{name} is within {bound} lines now: remove its allowance")
    return problems


def _privateNames(paths: list[Path]) -> set[str]:
    """
    The private names (one leading underscore) that the classes of the
    modules at C{paths} define: methods, C{__slots__} entries and
    attributes assigned on C{self}.
    """
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in ast.walk(node):
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(item.name)
                elif (
                    isinstance(item, ast.Attribute)
                    and isinstance(item.ctx, ast.Store)
                    and isinstance(item.value, ast.Name)
                    and item.value.id == "self"
                ):
                    names.add(item.attr)
                elif isinstance(item, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__slots__" for t in item.targets
                ):
                    try:
                        names.update(ast.literal_eval(item.value))
                    except ValueError:
                        pass
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def codecPrivateAccess(package: Path) -> list[str]:
    """
    Every attribute access outside C{package}'s C{codec} package to a
    private attribute of the codec: any C{_name} read off something called
    C{codec}, and any C{_name} that only the codec's classes define.

    @return: one line per access, C{"path:line .name"}.
    """
    codecDirectory = package / "codec"
    inside = sorted(p for p in package.rglob("*.py") if codecDirectory in p.parents)
    outside = sorted(p for p in package.rglob("*.py") if codecDirectory not in p.parents)
    codecOnly = _privateNames(inside) - _privateNames(outside)
    problems: list[tuple[str, int, int, str]] = []
    for path in outside:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            name = node.attr
            if not name.startswith("_") or name.startswith("__"):
                continue
            value = node.value
            onCodec = (isinstance(value, ast.Name) and value.id == "codec") or (
                isinstance(value, ast.Attribute) and value.attr == "codec"
            )
            if onCodec or name in codecOnly:
                problems.append((path.relative_to(package).as_posix(), node.lineno, node.col_offset, name))
    return [f"{where}:{line} .{name}" for where, line, _, name in sorted(problems)]


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


class PackageLayoutTests(SynchronousTestCase):
    """
    The size of the package's modules, functions and classes, and the
    codec's boundary.
    """

    def writePackage(self, files: dict[str, str]) -> Path:
        """
        Write C{files} (paths under the package, and their text) into a new
        directory and return it.
        """
        package = Path(self.mktemp())
        for name, text in files.items():
            path = package / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return package

    def test_sizes(self) -> None:
        """
        L{sizes} measures modules, functions, methods and nested classes,
        keyed by path and qualified name.
        """
        source = "class A:\n    def f(self):\n        pass\n\n    class B:\n        x = 1\n\n\ndef g():\n    return 1\n"
        package = self.writePackage({"sub/m.py": source})
        modules, functions, classes = sizes(package)
        self.assertEqual(modules, {"sub/m.py": 10})
        self.assertEqual(functions, {"sub/m.py:A.f": 2, "sub/m.py:g": 2})
        self.assertEqual(classes, {"sub/m.py:A": 6, "sub/m.py:A.B": 2})

    def test_overBounds(self) -> None:
        """
        L{overBounds} reports what is over its bound or its allowance, and
        allowances that are no longer needed; under its allowance is fine.
        """
        found = {"a": 5, "b": 12, "c": 14, "d": 20}
        self.assertEqual(
            overBounds(found, 10, {"c": 14, "d": 18, "a": 9, "e": 30, "f": 50}),
            [
                "b is 12 lines, over 10: split or shorten it",
                "d is 20 lines, over 18: split or shorten it",
                "a is within 10 lines now: remove its allowance",
                "e is within 10 lines now: remove its allowance",
                "f is within 10 lines now: remove its allowance",
            ],
        )
        self.assertEqual(overBounds({"c": 13}, 10, {"c": 14}), [])

    def test_modules(self) -> None:
        """
        No module of twisted_ws is over its bound.
        """
        self.assertEqual(overBounds(sizes(PACKAGE)[0], MODULE_LINES, MODULE_ALLOWANCES), [])

    def test_functions(self) -> None:
        """
        No function or method of twisted_ws is over its bound.
        """
        self.assertEqual(overBounds(sizes(PACKAGE)[1], FUNCTION_LINES, FUNCTION_ALLOWANCES), [])

    def test_classes(self) -> None:
        """
        No class of twisted_ws is over its bound.
        """
        self.assertEqual(overBounds(sizes(PACKAGE)[2], CLASS_LINES, CLASS_ALLOWANCES), [])

    def test_checkFindsCodecPrivateAccess(self) -> None:
        """
        L{codecPrivateAccess} reports a private attribute read off a codec
        connection, or one only the codec defines, and leaves alone the
        layer's own private attributes and the codec's public ones.
        """
        package = self.writePackage(
            {
                "codec/_c.py": "class C:\n    __slots__ = ('_out',)\n    def _parse(self):\n        self._buf = 1\n",
                "_layer.py": (
                    "class L:\n"
                    "    def f(self):\n"
                    "        self._own = self.codec.state\n"
                    "        self.codec._anything\n"
                    "        self._own._parse()\n"
                    "        return self._own\n"
                    "def g(codec, conn):\n"
                    "    return codec._hidden, conn._out, conn._buf, conn.__class__\n"
                ),
            }
        )
        self.assertEqual(
            codecPrivateAccess(package),
            ["_layer.py:4 ._anything", "_layer.py:5 ._parse", "_layer.py:8 ._hidden", "_layer.py:8 ._out", "_layer.py:8 ._buf"],
        )

    def test_noCodecPrivateAccess(self) -> None:
        """
        Nothing outside the codec reads or sets a private attribute of the
        codec's objects: the Twisted layer uses the codec's public API.
        """
        self.assertEqual(codecPrivateAccess(PACKAGE), [])
