"""``collector profile``: login profiles (browser storage states) for captures behind a login."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from collector.cli.options import cli_config, emit_json, handle_errors, json_option

__all__ = ["profile"]


@click.group()
def profile() -> None:
    """Login profiles: a browser's cookies and local storage after a login, kept in the home
    (profiles/NAME.json, mode 0600) and used by `--profile NAME` on capture, check and schedule runs
    (the page is then captured through Chromium with that login; docs/browser.md#login-profiles).

    The profile's cookies and any Authorization header are redacted from the archived requests; the
    pages themselves show the logged-in view. Use an account made for archiving, not a personal one.

    \b
    Example:
      collector profile import news state.json
      collector profile list --json
      collector profile show news
      collector capture --profile news https://example.org/members/post-1
      collector profile remove news
    """


@profile.command("create")
@click.argument("name")
@click.option("--login-url", required=True, help="The page with the login form.")
@click.option("--fill", "fills", multiple=True, metavar="SELECTOR=VALUE",
              help="Fill a field (repeatable). VALUE may be $env:NAME (an environment variable) or "
                   "$secret:KEY (a KEY=VALUE line of --secrets-file), to keep passwords off the "
                   "command line.")
@click.option("--secrets-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A file of KEY=VALUE lines for $secret:KEY values.")
@click.option("--submit", default=None, metavar="SELECTOR", help="The button to click after filling.")
@click.option("--wait-for", default=None, metavar="SELECTOR|url:SUBSTRING",
              help="The sign the login went through: an element that appears, or url:SUBSTRING of "
                   "the address the login lands on (default: the page settles).")
@click.option("--interactive", is_flag=True,
              help="Open a visible Chromium to log in by hand (needs a display); the profile is "
                   "taken when --wait-for is met or the window is closed.")
@click.option("--timeout", type=float, default=None,
              help="Seconds each step may take (default: the browser_timeout setting).")
@click.option("--replace", is_flag=True, help="Overwrite an existing profile of that name.")
@click.option("--allow-private", is_flag=True, default=None,
              help="Allow a login page on a loopback or private address (refused by default).")
@json_option
@click.pass_context
@handle_errors
def create(ctx: click.Context, name: str, login_url: str, fills: tuple[str, ...],
           secrets_file: Path | None, submit: str | None, wait_for: str | None, interactive: bool,
           timeout: float | None, replace: bool, allow_private: bool | None, as_json: bool) -> None:
    """Log in through Chromium and keep the browser's cookies and local storage as profile NAME.

    Scripted: --fill each field, --submit, --wait-for the page that shows you are in. Nothing is
    saved when a step fails. Every request of the login passes the private-address guard.

    \b
    Example:
      collector profile create news --login-url https://news.example/login --fill '#user=archivist' \\
        --fill '#pass=$env:NEWS_PASSWORD' --submit '#go' --wait-for url:/welcome
      collector profile create news --login-url https://news.example/login --interactive --replace
    """
    # lazy: Playwright and the capture modules load only when a login runs (CLI start-up)
    from collector.profiles.login import LoginScript, parse_fill, read_secrets, record_login
    from collector.profiles.store import check_profile_name, profile_info, profiles_dir, save_profile

    config = cli_config(ctx, allow_private=allow_private)
    check_profile_name(name)
    if (profiles_dir(config) / f"{name}.json").exists() and not replace:
        raise click.UsageError(f"profile {name!r} exists already (use --replace to overwrite it)")
    secrets = read_secrets(secrets_file) if secrets_file is not None else None
    script = LoginScript(login_url=login_url,
                         fills=[parse_fill(f, os.environ, secrets) for f in fills], submit=submit,
                         wait_for=wait_for, timeout=timeout or config.browser_timeout,
                         interactive=interactive)
    state = record_login(config, script, os.environ)
    save_profile(config, name, state, source="interactive" if interactive else "login",
                 login_url=login_url, replace=replace)
    _print(profile_info(config, name).as_dict(), as_json, "saved")


@profile.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite an existing profile of that name.")
@json_option
@click.pass_context
@handle_errors
def import_(ctx: click.Context, name: str, file: Path, replace: bool, as_json: bool) -> None:
    """Save a storage-state JSON made elsewhere (Playwright's context.storage_state(path=...), a
    browser extension exporting it) as profile NAME. Keep FILE safe, or delete it, afterwards.

    \b
    Example:
      collector profile import news state.json
    """
    from collector.profiles.store import import_profile, profile_info  # lazy: CLI start-up

    config = cli_config(ctx)
    import_profile(config, name, file, replace=replace)
    _print(profile_info(config, name).as_dict(), as_json, "imported")


@profile.command("list")
@json_option
@click.pass_context
@handle_errors
def list_(ctx: click.Context, as_json: bool) -> None:
    """List the home's profiles (names, when made, cookie counts; never a secret).

    \b
    Example:
      collector profile list --json
    """
    from collector.profiles.store import list_profiles  # lazy: CLI start-up

    found = list_profiles(cli_config(ctx))
    if as_json:
        for info in found:
            emit_json(info.as_dict())
        return
    if not found:
        click.echo("no profiles (make one with `collector profile create`)")
    for info in found:
        click.echo(f"{info.name}  {info.created_at or '-'}  {info.source or '-'}  "
                   f"{len(info.cookies)} cookie(s)  {len(info.origins)} origin(s)")


@profile.command("show")
@click.argument("name")
@json_option
@click.pass_context
@handle_errors
def show(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show what profile NAME holds: cookie names and domains, local-storage keys (no values).

    \b
    Example:
      collector profile show news --json
    """
    from collector.profiles.store import profile_info  # lazy: CLI start-up

    _print(profile_info(cli_config(ctx), name).as_dict(), as_json, None)


@profile.command("remove")
@click.argument("name")
@json_option
@click.pass_context
@handle_errors
def remove(ctx: click.Context, name: str, as_json: bool) -> None:
    """Delete profile NAME (the site's session itself stays valid until you log out there).

    \b
    Example:
      collector profile remove news
    """
    from collector.profiles.store import remove_profile  # lazy: CLI start-up

    path = remove_profile(cli_config(ctx), name)
    if as_json:
        emit_json({"name": name, "path": str(path), "removed": True})
    else:
        click.echo(f"removed profile {name} ({path})")


def _print(info: dict[str, Any], as_json: bool, verb: str | None) -> None:
    if as_json:
        emit_json(info)
        return
    if verb:
        click.echo(f"{verb} profile {info['name']} ({info['path']}, mode {info['mode']})")
    else:
        click.echo(f"profile {info['name']}: {info['path']} (mode {info['mode']})")
    click.echo(f"  made: {info['created_at'] or '-'} by {info['source'] or '-'}"
               + (f" at {info['login_url']}" if info["login_url"] else ""))
    for cookie in info["cookies"]:
        click.echo(f"  cookie {cookie['name']} for {cookie['domain']}{cookie['path']}")
    for origin in info["origins"]:
        click.echo(f"  local storage of {origin['origin']}: {', '.join(origin['local_storage'])}")
