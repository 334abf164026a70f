"""``collector evidence``: write a signed evidence package (WACZ) of a capture or a report, and verify
one offline (docs/evidence.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from collector.cli.options import base_url_option, cli_config, emit_json, handle_errors, json_option
from collector.errors import InputError
from collector.inputs import parse_time

__all__ = ["evidence"]


class _PackageByDefault(click.Group):
    """``collector evidence URL ...`` means ``collector evidence package URL ...``; ``verify`` is the
    other subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["package", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_PackageByDefault)
def evidence() -> None:
    """Signed evidence packages a third party verifies offline (docs/evidence.md).

    A package is a WACZ 1.1.1 holding the captures, their ledger entries with inclusion proofs to a
    signed (and timestamped) checkpoint, the public key, and for a report its citation table.

    \b
    Examples:
      collector evidence https://example.org/a --at 2026-06-03T12:00:00Z -o a.wacz
      collector evidence --report climate-2026 -o climate.wacz
      collector evidence verify a.wacz --key archive.pub
    """


@evidence.command("package")
@click.argument("url", required=False)
@click.option("--at", "at", default=None, help="Time wanted (ISO-8601 or 14 digits); default latest.")
@click.option("--report", "report", default=None, help="Package every capture a report cites instead.")
@click.option("-o", "--output", "output", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="The .wacz file to write.")
@base_url_option
@json_option
@click.pass_context
@handle_errors
def evidence_package(ctx: click.Context, url: str | None, at: str | None, report: str | None,
                     output: Path, base_url: str | None, as_json: bool) -> None:
    """Write the signed evidence package of URL's capture closest to --at, or of --report NAME.

    \b
    Example:
      collector evidence https://example.org/a -o a.wacz
    """
    from collector.evidence.package import write_evidence  # lazy: cryptography, SQLAlchemy

    if (url is None) == (report is None):
        raise InputError("give either a URL or --report NAME")
    if report is not None and at is not None:
        raise InputError("--at goes with a URL, not with --report")
    config = cli_config(ctx)
    when = parse_time(at) if at else None
    part = output.with_name(output.name + ".part")
    try:
        with open(part, "wb") as out:
            summary = write_evidence(config, out, url=url, at=when, report=report, base_url=base_url)
            out.flush()
            os.fsync(out.fileno())
        part.replace(output)
    finally:
        part.unlink(missing_ok=True)
    if as_json:
        emit_json({"path": str(output), "bytes": output.stat().st_size, **summary.to_json()})
    else:
        click.echo(f"{output}: {summary.captures} captures, {summary.entries} ledger entries, "
                   f"{summary.records} records; checkpoint {summary.checkpoint} "
                   f"({summary.tree_size} entries) signed by {summary.key_fingerprint}"
                   + (", timestamped" if summary.timestamped else ", not timestamped")
                   + f"; package signed by WACZ key {summary.wacz_key_fingerprint}")
        if summary.wacz_key_created:
            click.echo(f"made the WACZ signing key {cli_config(ctx).wacz_key_path} (ECDSA P-384): this "
                       "home had none; the archive key vouches for it in every package")


@evidence.command("verify")
@click.argument("package", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--key", "key_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="The archive's public key(s) (PEM, from `collector key "
                                 "export-public`) to trust; default: the package's own (a warning).")
@click.option("--tsa-ca", "tsa_ca", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="The time-stamping authority's CA (PEM); default: the one the "
                                 "package carries (a warning).")
@json_option
@handle_errors
def evidence_verify(package: Path, key_file: Path | None, tsa_ca: Path | None, as_json: bool) -> None:
    """Verify an evidence package offline: file digests, the package signature, the checkpoint's
    signature and timestamp, every inclusion proof and every capture's records; exit 1 on any
    failure.

    \b
    Example:
      collector evidence verify a.wacz --key archive.pub --json
    """
    from collector.evidence.keys import TrustedKeys, load_public_keys  # lazy: cryptography
    from collector.evidence.packverify import verify_package  # lazy: cryptography, rfc3161-client

    trusted = load_public_keys(key_file) if key_file is not None else TrustedKeys(None, None)
    report = verify_package(package, public_key=trusted.archive, wacz_key=trusted.wacz,
                            tsa_ca_pem=tsa_ca.read_bytes() if tsa_ca is not None else None)
    if as_json:
        emit_json(report.to_json())
    else:
        _print_report(report.to_json())
    if not report.ok:
        sys.exit(1)


def _print_report(data: dict[str, Any]) -> None:
    for capture in data["captures"]:
        click.echo(f"proved: {capture['url']} captured {capture['captured_at']} "
                   f"(HTTP {capture['http_status']}), payload sha256 {capture['sha256']}"
                   + (f", text sha256 {capture['text_sha256']}" if capture.get("text_sha256") else "")
                   + f", signed by {capture['signer']}"
                   + (f", timestamped {capture['timestamp']}" if capture["timestamp"] else ""))
    for check in data["checks"]:
        click.echo(f"proved: check of {check['url']} (report {check['report']}, ref {check['ref']}) "
                   f"at {check['checked_at']}: {check['status']}, {len(check['quotes'] or [])} quotes")
    if data["signature_form"] == "ecdsa":
        click.echo(f"package signature: ECDSA by WACZ key {data['wacz_signer']}, vouched for by "
                   f"archive key {data['signer']}")
    elif data["signature_form"] == "ed25519":
        click.echo(f"package signature: Ed25519 by archive key {data['signer']} (a package from "
                   "before the WACZ key)")
    for problem in data["problems"]:
        click.echo(f"problem: {problem['kind']}: {problem['detail']}")
    for warning in data["warnings"]:
        click.echo(f"warning: {warning['kind']}: {warning['detail']}")
    click.echo(f"{data['files_checked']} files, {data['entries_checked']} ledger entries, "
               f"{data['records_checked']} records checked: "
               + ("ok" if data["ok"] else f"{len(data['problems'])} problems"))
