"""
The optional compiled helper, L{twisted_ws.codec._speedups}, if it is built.

@var _speedups: the module, or C{None} when it is not built.
@var _importError: why it could not be imported, or C{""}.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_speedups: ModuleType | None
try:
    _speedups = importlib.import_module("twisted_ws.codec._speedups")
except ImportError as e:
    _speedups = None
    _importError = str(e)
else:
    _importError = ""
