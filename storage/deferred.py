"""Modules whose loading waits for their first use.

``defer_module(name)`` puts a stand-in for the module in ``sys.modules``: an ``import name`` of it costs
nothing, and the first attribute read from it (``name.function``, ``from name import x``, a submodule
import) loads the real module, which then replaces the stand-in. For a third-party package that
imports a heavy one at its top for functions we never call (surt imports tldextract, which loads
requests, urllib3, chardet and filelock: ~0.1 s at every start of a process that makes URL keys).
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ["DeferredModule", "defer_module"]

_lock = threading.Lock()


class DeferredModule(ModuleType):
    """The stand-in of a module not loaded yet (see the module docstring)."""

    __spec__ = None  # what the import system reads of a module found in sys.modules: no load

    def __getattr__(self, attribute: str) -> Any:
        return getattr(load(self.__name__), attribute)


def load(name: str) -> ModuleType:
    """The real module ``name``, loaded now if only its stand-in is in ``sys.modules``."""
    with _lock:
        found = sys.modules.get(name)
        if isinstance(found, DeferredModule):
            del sys.modules[name]
            found = None
        return found if found is not None else importlib.import_module(name)


def defer_module(name: str) -> None:
    """Defer the loading of ``name`` until its first use (nothing to do when it is loaded already)."""
    with _lock:
        if name not in sys.modules:
            sys.modules[name] = DeferredModule(name)
