# -*- test-case-name: tests.test_options -*-
"""
Make the option tables of the manual (C{docs/options.rst}) from the metadata
of L{twisted_ws.Options}' fields, the same metadata the C{twistd websocket}
option table and its C{--help} are made from.

Regenerate the page after changing a field::

    python -m twisted_ws.twistd._docs docs/options.rst

and check that it is up to date (as the tests do) with C{--check}.
"""

from __future__ import annotations

import sys
import textwrap

from ._library import DEPRECATED_NAMES, LIBRARY_OPTIONS, LibraryOption, fieldsWithoutOption
from ._values import KINDS

#: The lines between which the generated text goes; everything else in the
#: page is written by hand.
BEGIN = ".. The text from here to the end marker is made by: python -m twisted_ws.twistd._docs"
END = ".. End of the generated text."


def _rst(text: str) -> str:
    """
    Escape what reStructuredText would read as markup in plain help text.
    """
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`")


def _cell(text: str, first: str) -> list[str]:
    lines = textwrap.wrap(text, 76 - len(first), break_on_hyphens=False, break_long_words=False)
    return [first + lines[0]] + [" " * len(first) + line for line in lines[1:]]


def _row(option: LibraryOption) -> list[str]:
    switch = f"``--{option.name}``" if option.flag else f"``--{option.name} {option.kind.metavar}``"
    meaning = [_rst(option.help)]
    if option.kind.units:
        meaning.append(_rst(option.kind.units))
    if option.flag:
        meaning.append(f"A flag on the command line, ``{option.name} = true`` in the file.")
    meaning.append(f"Default: {_rst(option.default)}.")
    return [
        *_cell(switch, "   * - "),
        *_cell(f"``{option.field}``", "     - "),
        *_cell(" ".join(meaning), "     - "),
    ]


def generate() -> str:
    """
    The generated part of C{docs/options.rst}: the table of library
    options, their old spellings, and the fields with no option.
    """
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 28 20 52",
        "",
        "   * - Option",
        "     - ``Options`` field",
        "     - Meaning",
    ]
    for option in LIBRARY_OPTIONS:
        lines.extend(_row(option))
    lines.append("")
    for old, new in DEPRECATED_NAMES.items():
        lines.extend(_cell(
            f"``--{old}`` (and the file key ``{old}``) is the former name of ``--{new}``: it "
            "still works, with a message saying to use the new name.", ""))
        lines.append("")
    lines.append("The fields with no option, and their defaults:")
    lines.append("")
    for f in fieldsWithoutOption():
        shown = f.metadata["default"] or KINDS[f.metadata["value"]].show(f.default)
        lines.extend(_cell(f"``{f.name}`` ({_rst(shown)}): {_rst(f.metadata['help'])}", "- "))
    return "\n".join(lines) + "\n"


def replaceGenerated(page: str) -> str:
    """
    C{page} with the text between L{BEGIN} and L{END} made anew.

    @raise ValueError: if the page lacks the markers.
    """
    start = page.index(BEGIN) + len(BEGIN)
    end = page.index(END)
    return page[:start] + "\n\n" + generate() + "\n" + page[end:]


def main(argv: list[str]) -> int:
    """
    Rewrite the page named by C{argv} (or, with C{--check}, say whether it
    is up to date); return the exit status.
    """
    check = "--check" in argv
    paths = [arg for arg in argv if arg != "--check"] or ["docs/options.rst"]
    status = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            page = f.read()
        wanted = replaceGenerated(page)
        if check:
            if wanted != page:
                print(f"{path} is out of date: run python -m twisted_ws.twistd._docs {path}")
                status = 1
        elif wanted != page:
            with open(path, "w", encoding="utf-8") as f:
                f.write(wanted)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
