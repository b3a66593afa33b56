"""
Sphinx configuration for the twisted_ws documentation.

Build with C{python3 dev.py docs} (warnings are errors). Nothing here reaches
the network: the theme is Furo (the C{docs} extra installs it), MyST-Parser
renders the Markdown of the benchmark results, and there is no intersphinx.

The library's docstrings are written in Twisted's epytext (C{@param},
C{@return}, C{L{name}}). Autodoc expects reStructuredText, so
L{epytextToRest} rewrites each docstring as it is read: epytext fields become
Sphinx info fields and epytext inline markup becomes the matching reST role.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

project = "twisted_ws"
author = "twisted_ws developers"
copyright = "twisted_ws developers"

try:
    from importlib.metadata import version as _distributionVersion

    release = _distributionVersion("twisted_ws")
except Exception:  # pragma: no cover - docs built from a tree that is not installed
    release = "dev"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "myst_parser",
]

# The manual itself is reStructuredText; MyST is there for the Markdown of
# benchmarks/README.md, which the benchmark-results directive renders.
source_suffix = {".rst": "restructuredtext"}

exclude_patterns = ["_build", "examples", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

html_theme = "furo"
html_title = "twisted_ws"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": True,
}

highlight_language = "default"

# Autodoc: signatures come from the code; type hints are shown in the
# signature only, so that an epytext @type field and an annotation do not
# produce two descriptions of one parameter.
autodoc_docstring_signature = True
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autoclass_content = "both"
autodoc_class_signature = "mixed"
autodoc_preserve_defaults = True
autodoc_default_options = {
    "show-inheritance": True,
}

# Twisted's own objects are named in docstrings with L{}; without the network
# there is no intersphinx inventory for them, so they render as code.
nitpicky = False

# Pages of the manual that other people write. Each one is listed in the
# index toctree, and dropped from it while its file does not exist yet.
OPTIONAL_PAGES = ("twistd", "options", "compliance")

BENCHMARK_RESULTS = ROOT / "benchmarks" / "README.md"


# ---------------------------------------------------------------------------
# Epytext to reStructuredText.

_FIELD = re.compile(
    r"^(?P<indent>\s*)@(?P<tag>\w+)(?:\s+(?P<arg>[^:]+?))?\s*:(?P<rest>.*)$"
)

# epytext field -> Sphinx info field. Tags that take an argument keep it.
_FIELD_NAMES = {
    "param": "param",
    "parameter": "param",
    "arg": "param",
    "argument": "param",
    "keyword": "keyword",
    "kwarg": "keyword",
    "kwparam": "keyword",
    "type": "type",
    "ivar": "ivar",
    "cvar": "cvar",
    "var": "var",
    "return": "return",
    "returns": "return",
    "rtype": "rtype",
    "returntype": "rtype",
    "raise": "raises",
    "raises": "raises",
    "except": "raises",
    "exception": "raises",
    "yield": "Yields",
    "yields": "Yields",
    "note": "Note",
    "see": "See also",
    "seealso": "See also",
    "since": "Since",
    "deprecated": "Deprecated",
    "warning": "Warning",
    "warn": "Warning",
    "todo": "To do",
    "author": "Author",
    "precondition": "Precondition",
    "postcondition": "Postcondition",
    "invariant": "Invariant",
    "group": None,
    "sort": None,
}

_MARKUP = re.compile(r"([LCIBUMEXSGV])\{")
_ESCAPES = {"lb": "{", "rb": "}"}


def _matchBrace(text: str, start: int) -> int:
    """
    Find the closing brace that matches the opening brace just before
    C{start}.

    @param text: The text being scanned.
    @param start: The index just after an opening C{{}.
    @return: The index of the matching C{}}, or C{-1} if there is none.
    """
    depth = 1
    i = start
    while i < len(text):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _plain(text: str) -> str:
    """
    Strip epytext markup from C{text}, keeping only its words.

    @param text: Epytext inline text.
    @return: The text with every C{X{...}} replaced by its contents.
    """
    out = []
    i = 0
    while True:
        m = _MARKUP.search(text, i)
        if m is None:
            out.append(text[i:])
            return "".join(out)
        end = _matchBrace(text, m.end())
        if end < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i : m.start()])
        inner = text[m.end() : end]
        if m.group(1) == "E":
            inner = _ESCAPES.get(inner, inner)
        elif m.group(1) == "L" and "<" in inner and inner.endswith(">"):
            inner = inner[: inner.index("<")].strip()
        out.append(_plain(inner))
        i = end + 1


def _escapeText(text: str) -> str:
    """
    Escape characters of plain epytext prose that reStructuredText would
    read as markup: a lone C{*}, a backquote, and a trailing underscore.

    @param text: Prose outside any inline markup.
    @return: The escaped prose.
    """
    text = text.replace("\\", "\\\\")
    text = text.replace("`", "\\`")
    text = re.sub(r"\*", r"\\*", text)
    text = re.sub(r"(?<=\w)_(?=\W|$)", r"\\_", text)
    text = re.sub(r"\|", r"\\|", text)
    return text


def _role(tag: str, inner: str) -> str:
    """
    Render one piece of epytext inline markup as reStructuredText.

    @param tag: The epytext markup letter (C{L}, C{C}, C{I}, ...).
    @param inner: The text between the braces.
    @return: The reST for it.
    """
    if tag == "E":
        return _escapeText(_ESCAPES.get(inner, inner))
    if tag == "L":
        inner = " ".join(inner.split())
        m = re.match(r"^(.*?)\s*<\s*([^<>]+?)\s*>$", inner)
        if m and m.group(1):
            label, target = _plain(m.group(1)), m.group(2)
            target = target.removesuffix("()")
            return f":py:obj:`{_escapeRole(label)} <{target}>`"
        target = _plain(inner)
        if target.endswith("()"):
            return f":py:obj:`{target} <{target[:-2]}>`"
        return f":py:obj:`{target}`"
    if tag == "U":
        inner = " ".join(inner.split())
        m = re.match(r"^(.*?)\s*<\s*([^<>]+?)\s*>$", inner)
        if m and m.group(1):
            return f"`{_escapeRole(_plain(m.group(1)))} <{m.group(2)}>`__"
        return f"`{inner} <{inner}>`__"
    text = _plain(inner)
    if tag in ("C", "V"):
        return _literal(text)
    if tag == "M":
        return f":math:`{_escapeRole(text)}`"
    if not text.strip():
        return _escapeText(text)
    if tag == "I":
        return f"*{_escapeInline(text)}*"
    if tag == "B":
        return f"**{_escapeInline(text)}**"
    # X (index term), S (symbol), G (graph): keep the words.
    return _escapeText(text)


def _escapeRole(text: str) -> str:
    return text.replace("\\", "\\\\").replace("`", "\\`").replace("<", "\\<")


def _escapeInline(text: str) -> str:
    return _escapeText(" ".join(text.split()))


def _literal(text: str) -> str:
    """
    Render C{text} as an inline literal.

    @param text: The code.
    @return: C{``text``}, or a C{:code:} role where the text itself holds
        double backquotes or starts or ends with a space.
    """
    text = " ".join(text.split("\n"))
    if not text:
        return ""
    if "``" in text or text != text.strip():
        return f":code:`{_escapeRole(text)}`"
    return f"``{text}``"


def _convertInline(text: str) -> str:
    """
    Convert the epytext inline markup in a run of prose.

    @param text: Prose, possibly spanning lines, outside literal blocks.
    @return: Equivalent reStructuredText.
    """
    out: list[str] = []
    i = 0
    while True:
        m = _MARKUP.search(text, i)
        if m is None:
            out.append(_escapeText(text[i:]))
            break
        end = _matchBrace(text, m.end())
        if end < 0:
            out.append(_escapeText(text[i:]))
            break
        out.append(_escapeText(text[i : m.start()]))
        rendered = _role(m.group(1), text[m.end() : end])
        # Inline markup must stand apart from the words around it.
        before = "".join(out)[-1:]
        after = text[end + 1 : end + 2]
        if rendered and rendered[0] in "`*:" and before and not before.isspace() and before not in "([{<'\"/-":
            rendered = "\\ " + rendered
        if rendered and rendered[-1] in "`*_" and after and (after.isalnum() or after in "({["):
            rendered = rendered + "\\ "
        out.append(rendered)
        i = end + 1
    return "".join(out)


def epytextToRest(lines: list[str]) -> list[str]:
    """
    Rewrite an epytext docstring, already split into lines, as
    reStructuredText.

    Literal blocks (a paragraph ending in C{::} and the indented lines after
    it) and doctest blocks are left alone. Fields become Sphinx info fields,
    with a blank line before each so that reST sees a field list.

    @param lines: The docstring's lines, as autodoc gives them.
    @return: The converted lines.
    """
    result: list[str] = []
    prose: list[str] = []
    heads: list[str] = []

    def flushProse() -> None:
        if prose:
            converted = _convertInline("\n".join(prose))
            for n, head in enumerate(heads):
                converted = converted.replace(f"\x00{n}\x00", head, 1)
            result.extend(converted.split("\n"))
            del prose[:]
            del heads[:]

    literalIndent: int | None = None
    lastIndent = 0
    expectLiteral = False
    inDoctest = False
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literalIndent is not None:
            if not stripped or indent > literalIndent:
                result.append(line)
                continue
            literalIndent = None
        if expectLiteral:
            if not stripped:
                flushProse()
                result.append(line)
                continue
            expectLiteral = False
            if indent > lastIndent:
                flushProse()
                literalIndent = lastIndent
                result.append(line)
                continue
        if inDoctest:
            if stripped:
                result.append(line)
                continue
            inDoctest = False
        if stripped.startswith(">>>") and not prose:
            inDoctest = True
            result.append(line)
            continue
        m = _FIELD.match(line)
        if m and m.group("tag").lower() in _FIELD_NAMES:
            flushProse()
            name = _FIELD_NAMES[m.group("tag").lower()]
            if name is None:
                # @group and @sort order pydoctor's output; Sphinx has no use
                # for them.
                continue
            if result and result[-1].strip():
                result.append("")
            arg = m.group("arg")
            indentText = m.group("indent")
            if arg and name in ("param", "keyword", "type", "ivar", "cvar", "var", "raises"):
                head = f"{indentText}:{name} {_plain(arg).strip()}:"
            elif arg:
                head = f"{indentText}:{name}: {_plain(arg).strip()}"
            else:
                head = f"{indentText}:{name}:"
            prose.append(f"\x00{len(heads)}\x00" + m.group("rest"))
            heads.append(head)
            continue
        if not stripped:
            flushProse()
            result.append(line)
            continue
        prose.append(line)
        if stripped.endswith("::"):
            expectLiteral = True
            lastIndent = indent
    flushProse()
    return result


def _convertDocstring(app, what, name, obj, options, lines):
    converted = epytextToRest(lines)
    lines[:] = converted


# ---------------------------------------------------------------------------
# Optional pages and the benchmark results.


def _dropMissingPages(app, docname, source):
    """
    Keep the manual building while an optional page is still missing: drop
    its toctree entry from the index, and turn links to it (C{:doc:} roles)
    into their plain text anywhere in the manual.
    """
    text = source[0]
    for page in OPTIONAL_PAGES:
        if (HERE / f"{page}.rst").exists():
            continue
        if docname == "index":
            text = re.sub(rf"(?m)^[ \t]+{re.escape(page)}[ \t]*\n", "", text)
        text = re.sub(
            rf":doc:`([^`<]*?)\s*<(?:\.\./)?{re.escape(page)}>`", r"\1", text
        )
        text = re.sub(rf":doc:`(?:\.\./)?{re.escape(page)}`", page, text)
    source[0] = text


# Reference pages and the module whose public names (its __all__) each one
# documents. A public name that a page does not document yet is appended to it
# under "Other public names", so the reference never silently misses one.
REFERENCE_PAGES = {
    "reference/codec": "twisted_ws.codec",
    "reference/twisted": "twisted_ws",
}


def _completeReference(app, docname, source):
    """
    Append autodoc entries for the public names of a reference page's module
    that the page does not document itself.
    """
    modname = REFERENCE_PAGES.get(docname)
    if modname is None:
        return
    import importlib
    import inspect

    module = importlib.import_module(modname)
    codec = importlib.import_module("twisted_ws.codec")
    text = source[0]
    missing = []
    for name in getattr(module, "__all__", ()):
        if re.search(rf"^\.\. auto\w+:: {re.escape(modname)}\.{re.escape(name)}\s*$", text, re.M):
            continue
        obj = getattr(module, name)
        if modname != "twisted_ws.codec" and getattr(codec, name, None) is obj:
            continue  # a re-export, documented on the codec page
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            kind = "autoexception"
        elif inspect.isclass(obj):
            kind = "autoclass"
        elif callable(obj):
            kind = "autofunction"
        else:
            kind = "autodata"
        missing.append(f".. {kind}:: {modname}.{name}\n" + ("   :members:\n" if kind == "autoclass" else ""))
    if missing:
        title = "Other public names"
        text += f"\n\n{title}\n{'-' * len(title)}\n\n" + "\n".join(missing)
        source[0] = text


def _markdownToNodes(path: Path, docDirectory: Path) -> list:
    """
    Parse a Markdown file with MyST into docutils nodes to place inside a
    section of another document.

    The file's title is dropped (the including page has its own), its
    headings become rubrics (so that they stay out of the page's table of
    contents and need no section ids of their own), and relative image
    paths are rewritten relative to the including page.

    @param path: The Markdown file.
    @param docDirectory: The directory of the including page's source.
    @return: The nodes.
    """
    from docutils import nodes
    from docutils.core import publish_doctree
    from myst_parser.parsers.docutils_ import Parser

    document = publish_doctree(
        path.read_text(encoding="utf-8"),
        source_path=str(path),
        parser=Parser(),
        settings_overrides={"report_level": 2, "halt_level": 2, "myst_enable_extensions": []},
    )

    for image in list(document.findall(nodes.image)):
        uri = image["uri"]
        if "://" not in uri and not uri.startswith("/"):
            target = os.path.relpath(path.parent / uri, docDirectory)
            image["uri"] = target.replace(os.sep, "/")
            if "candidates" in image.attributes:
                del image["candidates"]

    def flatten(children: list) -> list:
        result = []
        for child in children:
            if isinstance(child, nodes.section):
                titles = [c for c in child.children if isinstance(c, nodes.title)]
                if titles:
                    result.append(nodes.rubric(titles[0].astext(), "", *titles[0].children))
                result.extend(flatten([c for c in child.children if not isinstance(c, nodes.title)]))
            elif isinstance(child, (nodes.title, nodes.subtitle, nodes.docinfo)):
                continue  # the file's own title: the including page has one
            else:
                result.append(child)
        return result

    content = flatten(list(document.children))
    for node in content:
        for element in node.findall(nodes.Element):
            element["ids"] = []
            element["names"] = []
    return content


def _benchmarkResults():
    from docutils import nodes
    from sphinx.util.docutils import SphinxDirective

    class BenchmarkResults(SphinxDirective):
        """
        Render C{benchmarks/README.md} (its tables as tables, its chart as
        an image) when the source tree has it.
        """

        has_content = False

        def run(self):
            if not BENCHMARK_RESULTS.exists():
                para = nodes.paragraph()
                para += nodes.Text(
                    "This source tree has no benchmark results yet; "
                    "they are written to "
                )
                para += nodes.literal("", "benchmarks/README.md")
                para += nodes.Text(" by the benchmark suite.")
                return [para]
            self.env.note_dependency(str(BENCHMARK_RESULTS))
            docDirectory = Path(self.env.doc2path(self.env.docname)).parent
            return _markdownToNodes(BENCHMARK_RESULTS, docDirectory)

    return BenchmarkResults


def setup(app):
    app.connect("autodoc-process-docstring", _convertDocstring)
    app.connect("source-read", _dropMissingPages)
    app.connect("source-read", _completeReference)
    app.add_directive("benchmark-results", _benchmarkResults())
    return {"parallel_read_safe": True, "parallel_write_safe": True}

