"""``python -m collector``."""

from collector.cli.main import main

main()
