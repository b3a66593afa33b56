"""
Tests that docs/architecture.rst describes the code as it is.
"""

from __future__ import annotations

import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from twisted_ws.codec._state import TRANSITIONS, State, Trigger

PAGE = Path(__file__).resolve().parent.parent / "docs" / "architecture.rst"


class StateTableTests(SynchronousTestCase):
    """
    The page's table of transitions is the code's.
    """

    def test_tableMatchesTransitions(self) -> None:
        """
        Every row of the page's table is an entry of C{TRANSITIONS} and every
        entry is a row, in the same order.
        """
        rows = []
        names = {t.value: t for t in Trigger}
        for line in PAGE.read_text(encoding="utf-8").splitlines():
            match = re.fullmatch(r"([A-Z_]+)\s{2,}([a-z ]+?)\s{2,}([A-Z_]+)", line.strip())
            if match and match.group(1) != "state":
                state, trigger, new = match.groups()
                rows.append(((State[state], names[trigger]), State[new]))
        self.assertEqual(rows, list(TRANSITIONS.items()))
