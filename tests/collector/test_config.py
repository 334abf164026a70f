"""Configuration priority: defaults < file < environment < flags."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

import collector
from collector.config import Config, MonitorConfig, load_config
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


def test_public_base_url_from_env_and_checked(tmp_path: Path) -> None:
    env = {"COLLECTOR_PUBLIC_BASE_URL": "https://archive.example.org"}
    assert load_config({"home": tmp_path}, env=env).public_base_url == "https://archive.example.org"
    assert load_config({"home": tmp_path}, env={}).public_base_url == ""
    with pytest.raises(ConfigError, match="public_base_url"):
        load_config({"home": tmp_path}, env={"COLLECTOR_PUBLIC_BASE_URL": "archive.example.org"})


def test_replace_ignores_none() -> None:
    assert Config().replace(download_timeout=None, retry_times=4).retry_times == 4


def test_warc_gzip_level_is_checked_and_used(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="warc_gzip_level"):
        load_config({"home": tmp_path, "warc_gzip_level": 0}, env={})
    assert load_config({"home": tmp_path}, env={"COLLECTOR_WARC_GZIP_LEVEL": "9"}).warc_gzip_level == 9


def test_tls_settings_from_env_file_and_flags(tmp_path: Path) -> None:
    assert load_config({"home": tmp_path}, env={}).tls_verify is False  # record, do not refuse
    assert load_config({"home": tmp_path}, env={"COLLECTOR_TLS_VERIFY": "1"}).tls_verify is True
    assert load_config({"home": tmp_path, "tls_verify": False},
                       env={"COLLECTOR_TLS_VERIFY": "true"}).tls_verify is False
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert load_config({"home": tmp_path}, env={"COLLECTOR_TLS_CA_FILE": str(ca)}).tls_ca_file == ca
    with pytest.raises(ConfigError, match=r"tls_ca_file='/nowhere/ca\.pem' is not a file"):
        load_config({"home": tmp_path}, env={"COLLECTOR_TLS_CA_FILE": "/nowhere/ca.pem"})


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


def test_monitor_priority_file_env_flags(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("per_host_concurrency = 3\n[monitor]\nfeed_interval = 900\ntick = 2\nworkers = 6\n")
    env = {"COLLECTOR_MONITOR_FEED_INTERVAL": "600", "COLLECTOR_MONITOR_TICK": "3"}
    config = load_config({"monitor": {"tick": 5.0, "workers": None}}, env=env, config_file=path)
    assert config.per_host_concurrency == 3
    assert config.monitor.workers == 6  # file
    assert config.monitor.feed_interval == 600.0  # env beats file
    assert config.monitor.tick == 5.0  # flag beats env
    assert config.monitor.notify_backoff == MonitorConfig().notify_backoff  # default
    assert load_config({}, env={}).monitor == Config().monitor


def test_monitor_table_next_to_a_collector_table(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[collector]\nretry_times = 5\n[monitor]\nfeed-tick = 30\n")
    config = load_config({}, env={}, config_file=path)
    assert (config.retry_times, config.monitor.feed_tick) == (5, 30.0)
    path.write_text("[monitor]\nfeed_ticks = 30\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'monitor\.feed_ticks'"):
        load_config({}, env={}, config_file=path)


@pytest.mark.parametrize(("env", "needle"), [
    ({"COLLECTOR_MONITOR_FEED_TICK": "-1"}, "monitor.feed_tick must not be negative"),
    ({"COLLECTOR_MONITOR_TICK": "20"}, "monitor.lease_ttl .* twice monitor.tick"),
    ({"COLLECTOR_MONITOR_WORKERS": "0"}, "monitor.workers must be at least 1"),
    ({"COLLECTOR_MONITOR_WORKERS": "many"}, "COLLECTOR_MONITOR_WORKERS"),
])
def test_bad_monitor_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_config({}, env=env)


def test_notify_timeout_defaults_to_at_most_the_download_timeout(tmp_path: Path) -> None:
    assert load_config({}, env={}).monitor.notify_timeout == 10.0
    assert load_config({"download_timeout": 4.0}, env={}).monitor.notify_timeout == 4.0
    assert Config(download_timeout=3.0).monitor.notify_timeout == 3.0
    env = {"COLLECTOR_MONITOR_NOTIFY_TIMEOUT": "20"}
    assert load_config({"download_timeout": 4.0}, env=env).monitor.notify_timeout == 20.0


def _readme_settings() -> dict[str, str]:
    """The settings named in the first column of README.md's configuration table, with their rows."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    named: dict[str, str] = {}
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) < 3 or not line.startswith("|"):
            continue
        for token in re.findall(r"`([^`]+)`", cells[1]):
            if re.fullmatch(r"[a-z][a-z_.]*", token):
                named[token] = line
    return named


def test_every_setting_is_in_the_readme_table() -> None:
    named = _readme_settings()
    wanted = {f.name for f in dataclasses.fields(Config)} - {"monitor"}
    monitor = {f"monitor.{f.name}" for f in dataclasses.fields(MonitorConfig)}
    assert sorted(wanted - named.keys()) == [], "settings missing from README.md's configuration table"
    assert sorted(monitor - named.keys()) == [], "monitor settings missing from README.md's table"
    assert sorted(named.keys() - wanted - monitor) == [], "README.md documents settings that do not exist"
    for name in monitor:
        env = f"COLLECTOR_MONITOR_{name.removeprefix('monitor.').upper()}"
        assert f"`{env}`" in named[name], f"README.md: {name} without its variable {env}"
