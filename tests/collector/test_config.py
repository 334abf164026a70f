"""Configuration priority: defaults < file < environment < flags."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import collector
from collector.config import Config, load_config
from collector.errors import ConfigError


def test_defaults() -> None:
    config = load_config({}, env={})
    assert config.home == Path("collector-data")
    assert config.per_host_concurrency == 2 and config.download_timeout == 30.0
    assert config.max_redirects == 10 and config.max_body_bytes == 50 * 1024 * 1024
    assert config.warc_max_bytes == 1024**3 and config.obey_robots and not config.allow_private
    assert config.db_url.startswith("sqlite:///") and config.db_url.endswith("collector.db")
    assert "collector" in config.ua and config.contact_url in config.ua


def test_priority_file_env_flags(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "collector.toml").write_text(
        "per_host_concurrency = 5\ndownload_timeout = 12\ncontact_url = 'https://x.test/'\n")
    env = {"COLLECTOR_HOME": str(home), "COLLECTOR_DOWNLOAD_TIMEOUT": "20"}
    config = load_config({"download_timeout": 40.0}, env=env)
    assert config.per_host_concurrency == 5  # file
    assert config.contact_url == "https://x.test/"
    assert config.download_timeout == 40.0  # flag beats env beats file
    assert load_config({}, env=env).download_timeout == 20.0


def test_database_url_from_env() -> None:
    config = load_config({}, env={"COLLECTOR_DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert config.db_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(("env", "needle"), [
    ({"COLLECTOR_PER_HOST_CONCURRENCY": "many"}, "COLLECTOR_PER_HOST_CONCURRENCY"),
    ({"COLLECTOR_ALLOW_PRIVATE": "perhaps"}, "COLLECTOR_ALLOW_PRIVATE"),
])
def test_bad_values_name_their_source(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_config({}, env=env)


def test_bad_config_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("nonsense = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config({}, env={}, config_file=path)
    path.write_text("[[[")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config({}, env={}, config_file=path)


def test_replace_ignores_none() -> None:
    assert Config().replace(download_timeout=None, retry_times=4).retry_times == 4


def test_warc_gzip_level_is_checked_and_used(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="warc_gzip_level"):
        load_config({"home": tmp_path, "warc_gzip_level": 0}, env={})
    assert load_config({"home": tmp_path}, env={"COLLECTOR_WARC_GZIP_LEVEL": "9"}).warc_gzip_level == 9


def test_version_comes_from_the_package_metadata() -> None:
    installed = importlib.metadata.version("collector")
    assert collector.__version__ == installed
    assert f"collector/{installed} " in Config().ua
    out = subprocess.run([sys.executable, "-m", "collector", "--version"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"collector, version {installed}\n"


def test_the_command_line_reads_the_metadata_only_when_asked() -> None:
    """``importlib.metadata`` costs ~35 ms of start-up: only --version and the User-Agent load it."""
    code = "import sys, collector.cli.main; print('importlib.metadata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
