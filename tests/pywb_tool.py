"""pywb (Webrecorder's replay tool), run as it is run outside the tests: collections made with
``wb-manager``, replay served by its WSGI app on 127.0.0.1.

pywb cannot share collector's environment: it needs ``brotlipy``, whose ``brotli`` module shadows the
``Brotli`` package Scrapy decodes ``br`` responses with (``Decompressor.process`` is missing), and it pins
``redis==2.10.6``, which the ``redis`` extra (scrapy-redis) cannot use. So `make test` installs it into a
virtualenv of its own (``make pywb``: ``.venv-pywb``); ``COLLECTOR_TEST_PYWB`` names another one's
``bin`` directory. Without it the tests fail, saying so: they are never skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
DEFAULT_BIN = HERE.parent / ".venv-pywb" / "bin"


def pywb_bin() -> Path:
    """The ``bin`` directory of pywb's virtualenv; fails the test when pywb is not there."""
    configured = os.environ.get("COLLECTOR_TEST_PYWB")
    where = Path(configured) if configured else DEFAULT_BIN
    if not (where / "wb-manager").exists():
        pytest.fail(f"pywb is not installed in {where}: run `make pywb` (`make test` does), or set "
                    "COLLECTOR_TEST_PYWB to the bin directory of a virtualenv with pywb", pytrace=False)
    return where


class Pywb:
    """A pywb directory (``collections/``) and the pywb installation that works on it."""

    def __init__(self, root: Path, bin_dir: Path) -> None:
        self.root = root
        self.bin = bin_dir
        root.mkdir(parents=True, exist_ok=True)
        # pywb's defaults, stated (without a config.yaml it prints a warning where the port goes)
        (root / "config.yaml").write_text("collections_root: collections\nenable_memento: true\n")

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.pop("PYTHONPATH", None)  # pywb's Python must not see collector's modules
        return env

    def manager(self, *args: str) -> str:
        """Run ``wb-manager ARGS`` in the root; its output (it must succeed)."""
        proc = subprocess.run([str(self.bin / "wb-manager"), *args], cwd=self.root, capture_output=True,
                              text=True, timeout=300, env=self._env())
        assert proc.returncode == 0, f"wb-manager {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}"
        return proc.stdout + proc.stderr

    def index(self, collection: str) -> list[str]:
        """The lines of a collection's CDXJ index."""
        path = self.root / "collections" / collection / "indexes" / "index.cdxj"
        return path.read_text().splitlines()

    @contextlib.contextmanager
    def serving(self) -> Iterator[str]:
        """pywb's replay app over the root's collections; yields its base URL."""
        proc = subprocess.Popen([str(self.bin / "python"), str(HERE / "pywbserve.py")], cwd=self.root,
                                stdout=subprocess.PIPE, text=True, env=self._env())
        assert proc.stdout is not None
        try:
            line = proc.stdout.readline()
            assert line.startswith("PORT "), f"pywb did not start: {line!r}"
            yield f"http://127.0.0.1:{int(line.split()[1])}"
        finally:
            proc.stdout.close()
            proc.terminate()
            proc.wait(timeout=30)

