"""
The optional compiled helpers (C{twisted_ws.codec._speedups}).

They are built by C{setup.py} where a C compiler is available, and the
codec runs in pure Python without them.  Setting the environment variable
C{TWISTED_WS_NO_SPEEDUPS=1} leaves them unused even when they are built.
"""

from __future__ import annotations

from os import environ
from types import ModuleType

__all__ = ["speedups"]

#: The compiled module, or L{None} when it is not built or turned off.
speedups: ModuleType | None = None

if environ.get("TWISTED_WS_NO_SPEEDUPS", "") in ("", "0"):
    try:  # pragma: no cover - depends on whether the extension was built
        from . import _speedups as speedups  # type: ignore[attr-defined, no-redef]
    except ImportError:
        pass
