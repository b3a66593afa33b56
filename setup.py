"""
Build script for the optional compiled part of twisted_ws.

All metadata lives in setup.cfg; this file only declares the C extension
that speeds up unmasking and UTF-8 checking.  It is optional: where it
cannot be compiled (no compiler, no Python headers) the install goes on
without it and the pure-Python code is used.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "twisted_ws.codec._speedups",
            ["twisted_ws/codec/_speedups.c"],
            optional=True,
        )
    ],
)
