"""Deferred modules: loaded at their first use, not at their import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CANONICAL = """
import sys
from storage.canonical import url_key
key = url_key("http://www.Example.org/a/?utm_source=x&b=1#top")
loaded = sorted(m for m in ("requests", "urllib3", "chardet", "filelock") if m in sys.modules)
deferred = type(sys.modules["tldextract"]).__name__
import tldextract
domain = tldextract.extract("news.example.co.uk").suffix  # the first use loads it
print(key, loaded, deferred, domain, type(sys.modules["tldextract"]).__name__)
"""


def test_url_keys_load_no_tldextract_until_it_is_used() -> None:
    """surt imports tldextract (requests, urllib3, chardet ...: ~0.1 s) for methods url_key never
    calls: a process that makes URL keys loads it only when something uses it."""
    done = subprocess.run([sys.executable, "-c", CANONICAL], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["org,example)/a?b=1", "[]", "DeferredModule", "co.uk", "module"]


def test_a_deferred_module_is_the_real_one_at_its_first_use() -> None:
    code = ("import sys; from storage.deferred import defer_module; defer_module('colorsys'); "
            "import colorsys; before = 'colorsys' in sys.modules and not hasattr(type(colorsys), "
            "'rgb_to_hsv'); from colorsys import rgb_to_hsv; "
            "print(before, rgb_to_hsv is sys.modules['colorsys'].rgb_to_hsv, "
            "type(sys.modules['colorsys']).__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "module"]
