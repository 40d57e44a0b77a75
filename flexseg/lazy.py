"""Package attributes imported on first use, so that importing a package stays cheap.

`import flexseg` and `flexseg --help` must not import Keras (and with it a whole backend),
so packages list what they export and where it lives, and Python imports it when it is
first asked for (PEP 562).

Example:
    >>> import flexseg
    >>> "build" in dir(flexseg)
    True
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`: each name comes from the module given.

    Use at the end of a package's `__init__.py`:
    `__getattr__, __dir__ = lazy_exports(__name__, {"Palette": "flexseg.data.palette"})`.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)  # imported once; later reads are plain
        return value

    def __dir__() -> list[str]:
        return sorted(set(exports) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
