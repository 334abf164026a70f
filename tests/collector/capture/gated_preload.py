"""Imported by a test's extraction fork server only: its import waits until the file that
``COLLECTOR_TEST_GATE`` names exists (a fork server whose preload is slow, made certain)."""

from __future__ import annotations

import os
import time

while not os.path.exists(os.environ["COLLECTOR_TEST_GATE"]):
    time.sleep(0.02)  # not a timing: wait for the test to open the gate
