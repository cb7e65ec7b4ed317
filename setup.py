"""Build hook for the optional C accelerator of the XML scan (``kneeflags.parsers._scan``).

Why a setup.py: pyproject metadata cannot mark an extension optional. ``optional=True``
lets an install without a C compiler succeed; kneeflags then uses its numpy scan (the same
results, slower). Everything else about the package is declared in pyproject.toml.
"""

import sys

from setuptools import Extension, setup

# No fused multiply-adds: the decimal conversion's error bound assumes every operation
# rounds on its own (and numpy, whose results it must equal, does not fuse either).
FLAGS = [] if sys.platform == "win32" else ["-O2", "-ffp-contract=off"]

setup(
    ext_modules=[
        Extension(
            "kneeflags.parsers._scan",
            ["kneeflags/parsers/_scan.c"],
            optional=True,
            extra_compile_args=FLAGS,
        )
    ]
)
