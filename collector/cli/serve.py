"""``collector serve``, ``collector token``, ``collector export`` and ``collector search`` (issue 6)."""

from __future__ import annotations

import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from collector.cli.options import (
    base_url_option,
    cli_config,
    emit_json,
    handle_errors,
    json_option,
    open_archive,
    warn_local_links,
)
from collector.inputs import parse_time

__all__ = ["export", "search", "serve", "token"]



def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP (not 0) so that asyncio sets TCP_NODELAY on accepted connections; without it a
    # keep-alive client waits ~40 ms (Nagle + delayed ACK) for every response with a body
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0: any free port).")
@click.option("--base-url", default=None, help="Public base URL used in Memento links (default: the "
              "public_base_url setting, else the URL each request came to), e.g. "
              "https://archive.example.org behind a proxy.")
@click.option("--replay-origin", envvar="COLLECTOR_REPLAY_ORIGIN", default=None,
              help="A separate origin that serves archived content (e.g. https://replay.example.org); "
                   "it must reach this same server.")
@click.option("--read-only", is_flag=True, help="Refuse every write endpoint, even with a valid token.")
@click.option("--reindex", is_flag=True, help="First index extracted texts missing from full-text search.")
@click.option("--access-log", is_flag=True, help="Log every request.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Server processes sharing the port (default: one per CPU, at most 4); more "
                   "processes answer more requests at once on a machine with more cores.")
@click.pass_context
@handle_errors
def serve(ctx: click.Context, host: str, port: int, base_url: str | None, replay_origin: str | None,
          read_only: bool, reindex: bool, access_log: bool, workers: int | None) -> None:
    """Serve the archive over HTTP: Memento API, safe replay, web interface, exports.

    Read-only for everyone; the endpoints that change the archive (capture a URL, add a report or a
    link) need a bearer token from `collector token create`. Prints the URL once it listens.

    \b
    Example:
      collector serve --port 8080 --workers 2
      curl -I -H 'Accept-Datetime: Tue, 03 Jun 2025 10:00:00 GMT' \\
           http://127.0.0.1:8080/timegate/https://example.org/a
    """
    import uvicorn  # lazy: CLI start-up

    from collector.server import ServerContext, create_app  # lazy: CLI start-up
    from collector.server.workers import default_workers, serve_workers  # lazy: CLI start-up
    from storage.search import reindex as index_missing  # lazy: CLI start-up

    config = cli_config(ctx)
    archive = open_archive(config)
    if reindex:
        count = index_missing(archive.sessions, config.warc_dir)
        click.echo(f"indexed {count} extracted texts for search", err=True)
    app = create_app(ServerContext(config=config, sessions=archive.sessions,
                                   base_url=base_url or config.public_base_url or None,
                                   replay_origin=replay_origin, read_only=read_only))
    sock = bind_socket(host, port)
    actual = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    processes = workers or default_workers()

    def run(listening: socket.socket) -> None:
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=access_log,
                                               lifespan="on", ws="none", server_header=False))
        server.run(sockets=[listening])

    many = f"{processes} workers; " if processes > 1 else ""
    click.echo(f"collector serving {config.home} on http://{shown}:{actual} ({many}Ctrl-C to stop)")
    sys.stdout.flush()
    if processes == 1:
        run(sock)
        return
    status = serve_workers(run, sock, processes, before_fork=archive.sessions.kw["bind"].dispose)
    if status:
        raise click.ClickException("the server's workers failed to start (see the messages above)")


@click.group()
def token() -> None:
    """Bearer tokens for the server's write endpoints (only their sha256 is stored).

    \b
    Example:
      collector token create --name "newsroom robot"
      curl -H "Authorization: Bearer col_..." -d '{"urls": ["https://example.org/a"]}' \\
           http://127.0.0.1:8080/api/captures
    """


@token.command("create")
@click.option("--name", required=True, help="Who or what uses the token.")
@json_option
@click.pass_context
@handle_errors
def token_create(ctx: click.Context, name: str, as_json: bool) -> None:
    """Create a token and print it (it is shown only this once).

    \b
    Example:
      collector token create --name ci --json
    """
    from storage.tokens import create_token  # lazy: CLI start-up

    archive = open_archive(cli_config(ctx))
    try:
        secret, record = create_token(archive.sessions, name, now=datetime.now(UTC))
    finally:
        archive.close()
    if as_json:
        emit_json({**record.to_json(), "token": secret})
    else:
        click.echo(secret)
        click.echo(f"token {record.id} ({record.name}) created; it is not stored and cannot be shown again",
                   err=True)


@token.command("list")
@json_option
@click.pass_context
@handle_errors
def token_list(ctx: click.Context, as_json: bool) -> None:
    """List tokens (without their secrets).

    \b
    Example:
      collector token list
    """
    from storage.tokens import list_tokens  # lazy: CLI start-up

    archive = open_archive(cli_config(ctx))
    try:
        records = list_tokens(archive.sessions)
    finally:
        archive.close()
    for record in records:
        data = record.to_json()
        if as_json:
            emit_json(data)
        else:
            state = "active" if data["active"] else f"revoked {data['revoked_at']}"
            click.echo(f"{record.id}  {record.name}  created {data['created_at']}  {state}")


@token.command("revoke")
@click.argument("token_id", type=int)
@json_option
@click.pass_context
@handle_errors
def token_revoke(ctx: click.Context, token_id: int, as_json: bool) -> None:
    """Revoke the token with id TOKEN_ID (see `collector token list`).

    \b
    Example:
      collector token revoke 3
    """
    from storage.tokens import revoke_token  # lazy: CLI start-up

    archive = open_archive(cli_config(ctx))
    try:
        record = revoke_token(archive.sessions, token_id, now=datetime.now(UTC))
    finally:
        archive.close()
    if as_json:
        emit_json(record.to_json())
    else:
        click.echo(f"token {record.id} ({record.name}) revoked")


@click.command()
@click.option("--report", "report_name", required=True, help="The report whose evidence to export.")
@click.option("--format", "fmt", type=click.Choice(["warc", "wacz", "csv", "json"]), required=True,
              help="warc: the records of every capture; wacz: WARC + index + pages with text; csv/json: "
                   "one row per citation.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (default: stdout).")
@base_url_option
@click.pass_context
@handle_errors
def export(ctx: click.Context, report_name: str, fmt: str, output: Path | None,
           base_url: str | None) -> None:
    """Export a report's evidence as WARC, WACZ, CSV or JSON.

    \b
    Example:
      collector export --report peru --format wacz -o peru.wacz
      collector export --report peru --format csv > peru.csv
    """
    from collector.reports.exports import export_report  # lazy: CLI start-up

    config = cli_config(ctx)
    if fmt in ("csv", "json"):  # the formats with archive links
        warn_local_links(config, base_url)
    if output is None:
        out = sys.stdout.buffer  # click.get_binary_stream is deprecated (Click 8.5)
        export_report(config, report_name, fmt, out, base_url=base_url)
        out.flush()
        return
    tmp = output.with_name(output.name + ".part")
    try:
        with open(tmp, "wb") as fh:
            summary = export_report(config, report_name, fmt, fh, base_url=base_url)
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"wrote {output}: {summary.captures} captures, {summary.records} "
               f"{'records' if fmt in ('warc', 'wacz') else 'rows'}, {summary.bytes} bytes", err=True)


@click.command()
@click.argument("query", required=False)
@click.option("--site", help="Only this host and its subdomains.")
@click.option("--from", "since", help="Captured at or after this time.")
@click.option("--to", "until", help="Captured at or before this time.")
@click.option("--report", "report_name", help="Only the sources cited by this report.")
@click.option("--feed", help="Only the articles announced by this feed.")
@click.option("--limit", default=20, show_default=True, type=int)
@click.option("--reindex", is_flag=True, help="Index extracted texts missing from the search index first.")
@json_option
@click.pass_context
@handle_errors
def search(ctx: click.Context, query: str | None, site: str | None, since: str | None, until: str | None,
           report_name: str | None, feed: str | None, limit: int, reindex: bool, as_json: bool) -> None:
    """Full-text search over the extracted text of every capture.

    Words must all occur; "quoted phrases", word* prefixes, -excluded words and OR work.

    \b
    Example:
      collector search '"seven votes to two"' --site example.org --from 2025-01-01
    """
    from collector.reports.search import scoped_search  # lazy: CLI start-up
    from storage.search import reindex as index_missing  # lazy: CLI start-up

    config = cli_config(ctx)
    archive = open_archive(config)
    try:
        if reindex:
            click.echo(f"indexed {index_missing(archive.sessions, config.warc_dir)} texts", err=True)
        if not query:
            if reindex:
                return
            raise click.UsageError("give a QUERY (or --reindex)")
        results = scoped_search(archive, query, site=site, since=parse_time(since) if since else None,
                                until=parse_time(until) if until else None, report=report_name,
                                feed=feed, limit=limit)
    finally:
        archive.close()
    for hit in results.hits:
        data = hit.to_json()
        if as_json:
            emit_json(data)
        else:
            click.echo(f"{data['captured_at']}  {hit.url}\n    {data['snippet']}")
    if not results.hits:
        sys.exit(1)
