"""Every command's help has an example, and every example in the help runs.

The examples are read from the click group itself (walked recursively), so a new command or a new
example is tested without touching this file. Each example runs in-process (click's CliRunner) in a copy
of a small seeded archive home, offline: its URLs point at the local test servers and ``--allow-private``
is added where the command takes it. Exit status 1 (nothing found, a fetch that failed) is accepted;
a usage error (exit status 2) or an exception is not.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import click
import pytest
from click.testing import CliRunner, Result
from fpdf import FPDF

from collector.cli.main import cli
from tests.conftest import serve_script

pytestmark = pytest.mark.slow  # every --help example, run

MONITOR_TESTS = Path(__file__).resolve().parents[1] / "monitor"

# Examples that cannot run in a test by their nature, by command path, with the reason.
NOT_RUN = {
    "serve": "serves HTTP until stopped (tests/collector/server covers it)",
    "run": "the scheduler daemon: runs until SIGTERM (tests/collector/monitor/test_daemon.py covers it)",
    "worker": "a capture worker: runs until SIGTERM (tests/workers/test_worker.py covers it)",
    "profile create": "logs in through Chromium at a site's login form (tests/collector/profiles/"
                      "test_login.py runs it against the local social web's login wall)",
    "warc upload": "needs an s3:// WARC store (tests/collector/cli/test_warc_store.py runs it against "
                   "a local S3-compatible server)",
}

# Commands run in the copied home before an example of this command path: it creates what the seed has.
BEFORE = {"feed add": [["feed", "remove", "example"]], "evidence": [["key", "create"]],
          "evidence package": [["key", "create"]],
          **{f"profile {name}": [["profile", "import", "news", "state.json"]]
             for name in ("show", "remove")}}

EXAMPLE_HEADING = re.compile(r"^\s*Examples?:\s*$", re.MULTILINE)
URL = re.compile(r"^https?://")


def _walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    yield " ".join(path), command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _walk(sub, (*path, name))


COMMANDS = dict(_walk(cli))


def _examples() -> list[str]:
    """Every ``collector ...`` line in every command's help, once each, in help order (a line ending
    in a backslash goes on on the next one, as in a shell)."""
    seen: dict[str, None] = {}
    for _, command in COMMANDS.items():
        text = re.sub(r"\\\n\s*", " ", command.help or "")
        for line in text.splitlines():
            if line.strip().startswith("collector "):
                seen[line.strip()] = None
    return list(seen)


def _leaf(args: list[str]) -> tuple[str, click.Command]:
    """The command path and command that ``args`` (after ``collector``) name."""
    command: click.Command = cli
    path: list[str] = []
    for arg in args:
        if not (isinstance(command, click.Group) and arg in command.commands):
            break
        command = command.commands[arg]
        path.append(arg)
    return " ".join(path), command


def _takes(command: click.Command, flag: str) -> bool:
    return any(flag in param.opts for param in command.params)


# -- the local web: page server from tests/conftest.py, feed and webhook servers of the monitor tests --

@pytest.fixture(scope="module")
def web(server: str) -> Iterator[dict[str, str]]:
    """Base URLs of the local servers: pages, feeds, webhooks."""
    feeds, feed_base = serve_script(MONITOR_TESTS / "feedserver.py")
    hooks, hook_base = serve_script(MONITOR_TESTS / "hookserver.py")
    yield {"pages": server, "feeds": feed_base, "hooks": hook_base}
    for proc in (feeds, hooks):
        proc.terminate()
        proc.wait(timeout=10)


def _local(url: str, web: dict[str, str]) -> str:
    """The local stand-in of an example's URL."""
    parts = urlsplit(url)
    if parts.hostname == "news.example":  # a feed (…/rss) or a page announcing feeds
        return web["feeds"] + ("/feed/example.xml" if parts.path.endswith("rss") else "/page.html")
    if parts.hostname == "hooks.example":
        return web["hooks"] + "/hook/example"
    slug = parts.path.strip("/").replace("/", "-") or "home"
    return f"{web['pages']}/page/{slug}"


def _args(example: str, home: Path, web: dict[str, str]) -> list[str]:
    """The example's arguments, offline: local URLs, ``--allow-private``, no shell redirection."""
    words = shlex.split(example)[1:]
    if ">" in words:  # `... > file`: the test keeps the output instead
        words = words[:words.index(">")]
    out: list[str] = []
    for i, word in enumerate(words):
        keep = i > 0 and words[i - 1] == "--base-url"  # a base URL written into notes, not fetched
        out.append(_local(word, web) if URL.match(word) and not keep else word)
    _, command = _leaf(out)
    if _takes(command, "--allow-private") and "--allow-private" not in out:
        out.append("--allow-private")
    return ["--home", str(home), *out]


def _env() -> dict[str, str | None]:
    env: dict[str, str | None] = {k: None for k in os.environ
                                  if k.startswith("COLLECTOR_") or k.lower().endswith("_proxy")}
    env.update({"COLLECTOR_AUTOTHROTTLE_START_DELAY": "0", "COLLECTOR_RETRY_TIMES": "0",
                "COLLECTOR_EXTRACT_WORKERS": "1", "COLLECTOR_DOWNLOAD_TIMEOUT": "10"})
    return env


def _invoke(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, env=_env(), catch_exceptions=True)


def _write_inputs(folder: Path, web: dict[str, str]) -> None:
    """The files the examples name: a report with its manifest, a PDF report, a URL list."""
    pages = web["pages"]
    (folder / "islamism-peru-report.txt").write_text(
        "Channels of the Faithful\nby the test desk\n\n"
        "A channel posted the statement first. (1) Its editor said: \"We are a channel for the "
        "community and nothing else.\" (2) A survey found the same wording elsewhere (3), and a post "
        "repeated it (4).\n\n"
        "Notes\n"
        f"1. Peru Desk, \"The statement\", 3 June 2025, {pages}/page/statement.\n"
        f"2. Peru Desk, \"The interview\", 4 June 2025, {pages}/page/interview.\n"
        "3. Survey of Channels (Lima Press, 2024), p. 17.\n"
        "4. A post on a social network, 12 January 2025.\n")
    (folder / "peru-links.csv").write_text(f"ref,url\n3,{pages}/page/survey\n")
    (folder / "links.csv").write_text(f"ref,url\n2,{pages}/page/interview\n")
    (folder / "state.json").write_text(json.dumps({"cookies": [
        {"name": "sid", "value": "example-session", "domain": "127.0.0.1", "path": "/"}],
        "origins": []}))  # a storage state, as `profile import` takes
    (folder / "urls.txt").write_text(f"{pages}/page/article\n{pages}/page/a\n")
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Channels of the Faithful. A channel posted the statement first. [1] Its "
                   "editor confirmed it in an interview. [2]")
    pdf.ln(4)
    pdf.multi_cell(0, 6, f"Notes\n1. Peru Desk, The statement, 3 June 2025, {pages}/page/statement.\n"
                   "2. Peru Desk, The interview, 4 June 2025.")
    pdf.output(str(folder / "paper.pdf"))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, web: dict[str, str]) -> Path:
    """A folder with the examples' input files and a home holding what they refer to: the reports
    ``peru`` and ``peru-2025``, captures, the feed ``example``, schedules 1-3, webhooks 1-2, tokens 1-3.
    Each example runs in a copy of it."""
    folder = tmp_path_factory.mktemp("seeded")
    home = folder / "home"
    _write_inputs(folder, web)
    pages = web["pages"]
    steps = [
        ["report", "add", str(folder / "islamism-peru-report.txt"), "--name", "peru",
         "--manifest", str(folder / "peru-links.csv")],
        ["report", "add", str(folder / "paper.pdf"), "--name", "peru-2025"],
        ["capture", "--allow-private", f"{pages}/page/article", f"{pages}/page/a"],
        ["feed", "add", _local("https://news.example/rss", web), "--name", "example",
         "--keywords", "Acme"],
        *[["schedule", "add", f"{pages}/page/a", "--every", "6h"] for _ in range(3)],
        *[["notify", "add", _local("https://hooks.example/collector", web), "--on", "change"]
          for _ in range(2)],
        *[["token", "create", "--name", f"token-{i}"] for i in range(3)],
    ]
    for step in steps:
        result = _invoke(["--home", str(home), *step])
        assert result.exit_code == 0, (step, result.output, result.exception)
    return folder


def _evidence_package(work: Path, web: dict[str, str]) -> None:
    """What ``evidence verify``'s example verifies: a.wacz of a seeded capture, and archive.pub."""
    home = ["--home", str(work / "home")]
    for step in (["key", "create"], ["evidence", f"{web['pages']}/page/a", "-o", "a.wacz"]):
        result = _invoke([*home, *step])
        assert result.exit_code == 0, (step, result.output)
    public = _invoke([*home, "key", "export-public"])
    assert public.exit_code == 0, public.output
    (work / "archive.pub").write_text(public.stdout)


# -- the tests -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(COMMANDS), ids=lambda name: name or "collector")
def test_help_has_an_example(name: str) -> None:
    command = COMMANDS[name]
    assert command.help, f"`collector {name}` has no help text"
    assert EXAMPLE_HEADING.search(command.help), f"`collector {name}` help has no Example section"


def test_not_run_names_existing_commands_with_examples() -> None:
    for name in NOT_RUN:
        assert name in COMMANDS, f"NOT_RUN names `collector {name}`, which does not exist"
        assert any(_leaf(shlex.split(e)[1:])[0] == name for e in _examples()), \
            f"NOT_RUN names `collector {name}`, which has no example"


def test_examples_are_found() -> None:
    examples = _examples()
    assert len(examples) > 30
    assert all(shlex.split(e)[0] == "collector" for e in examples)


@pytest.mark.parametrize("example", _examples())
def test_example_runs(example: str, seeded: Path, web: dict[str, str], tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    name, _ = _leaf(shlex.split(example)[1:])
    if name in NOT_RUN:
        pytest.skip(NOT_RUN[name])
    work = tmp_path / "work"
    shutil.copytree(seeded, work)
    monkeypatch.chdir(work)
    for step in BEFORE.get(name, []):
        assert _invoke(["--home", str(work / "home"), *step]).exit_code == 0, step
    if name == "evidence verify":
        _evidence_package(work, web)
    args = _args(example, work / "home", web)
    result = _invoke(args)
    shown = f"{example}\n  ran as: collector {shlex.join(args)}\n  exit {result.exit_code}:\n{result.output}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(shown) from result.exception
    assert result.exit_code != 2, "usage error: " + shown
    assert result.exit_code in (0, 1), shown
    assert "Traceback" not in result.output, shown
