"""Loaded by every Python process of a test's command (``PYTHONPATH`` puts this folder first): each
import (module run, not merely looked up) of a module named in ``COLLECTOR_TEST_IMPORT_WATCH``
(comma-separated) is appended to ``COLLECTOR_TEST_IMPORT_LOG`` as ``pid name``. A forked process
logs only what it imports itself."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any


class _Watch:
    """A meta path finder of the watched names: the other finders' spec, its module's run noted."""

    def __init__(self, log: str, names: set[str]) -> None:
        self.log, self.names = log, names

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        """The spec of a watched ``name``, its loader noting the import; None for the others."""
        if name not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                run = spec.loader.exec_module
                log = self.log

                def exec_module(module: ModuleType, run: Any = run, log: str = log) -> None:
                    with open(log, "a", encoding="utf-8") as out:
                        out.write(f"{os.getpid()} {module.__name__}\n")
                    run(module)

                spec.loader.exec_module = exec_module  # type: ignore[method-assign]
                return spec
            if spec is not None:
                return spec
        return None


if os.environ.get("COLLECTOR_TEST_IMPORT_LOG"):
    sys.meta_path.insert(0, _Watch(os.environ["COLLECTOR_TEST_IMPORT_LOG"],
                                   set(os.environ.get("COLLECTOR_TEST_IMPORT_WATCH", "").split(","))))
