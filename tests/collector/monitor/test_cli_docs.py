"""Every monitoring command has help with an example and is documented in docs/monitoring.md."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from collector.cli.main import cli

DOCS = (Path(__file__).resolve().parents[3] / "docs" / "monitoring.md").read_text()


def _commands() -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = [("run", cli.commands["run"])]
    for group in ("feed", "schedule", "notify"):
        command = cli.commands[group]
        assert isinstance(command, click.Group)
        out += [(f"{group} {name}", sub) for name, sub in command.commands.items()]
    return out


@pytest.mark.parametrize(("name", "command"), _commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_help_example_and_docs(name: str, command: click.Command) -> None:
    assert command.help and "Example" in command.help, f"{name} has no help example"
    assert f"`collector {name}" in DOCS, f"collector {name} is not documented in docs/monitoring.md"
