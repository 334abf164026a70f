"""collector.capture.heap: blocks of 64 KiB and more are given back to the system when freed."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

SCRIPT = """
import sys
from collector.capture.heap import map_large_blocks

def rss_mb():
    with open("/proc/self/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) / 1024

if sys.argv[1] == "mapped":
    assert map_large_blocks(64 * 1024)
blocks, pins = [], []
for i in range(300):  # 100 KB bodies, each followed by a small object that stays
    blocks.append(bytes([i % 251]) * 100_000)
    pins.append(bytearray(2000))  # above pymalloc's 512 bytes: from the C heap
before = rss_mb()
blocks.clear()
print(before - rss_mb())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_large_blocks_are_given_back_when_freed() -> None:
    def freed(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                             check=True)
        return float(out.stdout)

    assert freed("mapped") > 25  # 30 MB of bodies: given back
    assert freed("heap") < 5  # glibc's default keeps them below the small objects
