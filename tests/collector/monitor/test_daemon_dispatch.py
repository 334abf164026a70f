"""``collector run`` refuses at start a login profile with ``dispatch = "queue"``: the capture workers
do not have the home's profiles, and their secrets must not travel through Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from collector.cli.main import cli
from collector.errors import ConfigError
from collector.monitor.daemon import Daemon
from tests.conftest import make_config


def test_run_with_a_profile_and_queue_dispatch_is_an_error_at_start(home: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "--profile", "news", "--tick", "0.1"],
                                env={"COLLECTOR_HOME": str(home), "COLLECTOR_DISPATCH": "queue"})
    assert result.exit_code == 2, result.output  # a usage error, before the daemon runs anything
    assert "--profile" in result.output and 'dispatch = "queue"' in result.output
    assert "news" in result.output


@pytest.mark.parametrize("dispatch", ["local", "queue"])
def test_the_daemon_refuses_a_profile_only_with_queue_dispatch(home: Path, dispatch: str) -> None:
    with_profile = make_config(home, dispatch=dispatch, browser_profile="news")
    if dispatch == "queue":
        with pytest.raises(ConfigError, match="news"):
            Daemon(with_profile)
    else:
        assert Daemon(with_profile).config.browser_profile == "news"
    assert Daemon(make_config(home, dispatch=dispatch)).config.dispatch == dispatch
