"""``collector ignore``: rules whose matches checks leave out of the text comparison."""

from __future__ import annotations

from typing import Any

import click

from collector.cli.options import cli_config, emit_json, handle_errors, json_option, open_sessions

__all__ = ["ignore"]


def _scope_options(func: Any) -> Any:
    for option in reversed([
        click.option("--report", "report_name", default=None, help="Rules of this report's checks."),
        click.option("--url", default=None, help="Rules of this source (every spelling of the URL)."),
        click.option("--global", "everywhere", is_flag=True, help="Rules of every check."),
    ]):
        func = option(func)
    return func


@click.group()
def ignore() -> None:
    """Ignore rules: CSS selectors, XPath or regular expressions whose matches checks leave out of the
    text comparison (a date line, a view counter, a "related stories" box).

    The verdict is made on the filtered texts; the raw verdict and similarity are kept beside it, with
    the ids of the rules that removed something (`collector check --json`: raw_status, raw_similarity,
    ignored).

    \b
    Example:
      collector ignore add --url https://example.org/a --regex '^Updated: .*$' --note "date line"
      collector ignore add --report peru --css 'aside.related'
      collector ignore add --global --xpath '//*[@class="views"]'
      collector ignore list --json
      collector ignore remove 3
    """


@ignore.command("add")
@_scope_options
@click.option("--css", default=None, help="A CSS selector (applied to the archived HTML).")
@click.option("--xpath", default=None, help="An XPath expression (applied to the archived HTML).")
@click.option("--regex", default=None, help="A regular expression over the extracted text (^ and $ "
                                             "match at each line).")
@click.option("--note", default=None, help="Why the rule exists (shown in lists).")
@json_option
@click.pass_context
@handle_errors
def ignore_add(ctx: click.Context, report_name: str | None, url: str | None, everywhere: bool,
               css: str | None, xpath: str | None, regex: str | None, note: str | None,
               as_json: bool) -> None:
    """Add an ignore rule for one source (--url), one report (--report) or every check (--global).

    \b
    Example:
      collector ignore add --url https://example.org/a --regex '^Updated: .*$'
    """
    from collector.check.rules import add_ignore_rule, rule_scope  # lazy: CLI start-up
    from collector.errors import InputError  # lazy: CLI start-up

    kinds = [(k, p) for k, p in (("css", css), ("xpath", xpath), ("regex", regex)) if p is not None]
    if len(kinds) != 1:
        raise InputError("give exactly one of --css, --xpath or --regex")
    scope, target = rule_scope(report=report_name, url=url, everywhere=everywhere)
    with open_sessions(cli_config(ctx)) as sessions:
        rule = add_ignore_rule(sessions, scope=scope, target=target, kind=kinds[0][0], pattern=kinds[0][1],
                               note=note)
    if as_json:
        emit_json(rule.to_json())
    else:
        click.echo(f"added ignore rule {rule.id}: {rule.kind} {rule.pattern!r} for {_where(rule)}")


def _where(rule: Any) -> str:
    return "every check" if rule.scope == "global" else f"{rule.scope} {rule.target}"


@ignore.command("list")
@_scope_options
@json_option
@click.pass_context
@handle_errors
def ignore_list(ctx: click.Context, report_name: str | None, url: str | None, everywhere: bool,
                as_json: bool) -> None:
    """List ignore rules (all, or one scope's).

    \b
    Example:
      collector ignore list --url https://example.org/a --json
    """
    from collector.check.rules import list_ignore_rules, rule_scope  # lazy: CLI start-up

    scope, target = (rule_scope(report=report_name, url=url, everywhere=everywhere)
                     if report_name or url or everywhere else (None, None))
    with open_sessions(cli_config(ctx)) as sessions:
        rules = list_ignore_rules(sessions, scope=scope, target=target)
    for rule in rules:
        if as_json:
            emit_json(rule.to_json())
        else:
            note = f"  ({rule.note})" if rule.note else ""
            click.echo(f"{rule.id:>4}  {rule.kind:<5} {rule.pattern!r}  {_where(rule)}{note}")


@ignore.command("remove")
@click.argument("rule_id", type=int)
@json_option
@click.pass_context
@handle_errors
def ignore_remove(ctx: click.Context, rule_id: int, as_json: bool) -> None:
    """Remove an ignore rule (checks already made keep the ids that applied).

    \b
    Example:
      collector ignore remove 3
    """
    from collector.check.rules import remove_ignore_rule  # lazy: CLI start-up

    with open_sessions(cli_config(ctx)) as sessions:
        remove_ignore_rule(sessions, rule_id)
    if as_json:
        emit_json({"id": rule_id, "removed": True})
    else:
        click.echo(f"removed ignore rule {rule_id}")
