"""``collector demo``: the offline end-to-end demo."""

from __future__ import annotations

from pathlib import Path

import click

from collector.cli.options import handle_errors, json_option

__all__ = ["demo"]


@click.command()
@click.option("--keep", is_flag=True, help="Keep the local web server running until Ctrl-C.")
@json_option
@click.pass_context
@handle_errors
def demo(ctx: click.Context, keep: bool, as_json: bool) -> None:
    """Offline end-to-end demo: capture a local web, change it, re-capture, show what changed.

    Uses a fresh archive home (./collector-demo unless --home is given). Needs no internet.

    \b
    Example:
      collector demo
    """
    from collector.demo.run import run_demo  # lazy: CLI start-up

    home = (ctx.obj or {}).get("home") or Path("collector-demo")
    run_demo(home, as_json=as_json, keep=keep)
