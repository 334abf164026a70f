"""``collector key`` (the archive's signing key) and ``collector ledger`` (checkpoints, verify)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from collector.cli.options import cli_config, emit_json, handle_errors, json_option, open_archive
from collector.config import Config
from collector.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from collector.evidence.keys import ArchiveKey, WaczKey

__all__ = ["key", "ledger"]


@click.group()
def key() -> None:
    """The archive's signing keys: Ed25519 signs ledger checkpoints, ECDSA P-384 signs evidence
    packages (WACZ), and the first vouches for the second in every package.

    They live in the home (signing-key.pem and wacz-signing-key.pem, mode 0600) or where
    $COLLECTOR_KEY_FILE and $COLLECTOR_WACZ_KEY_FILE say. A verifier needs only the public keys
    (export-public) and their fingerprints (show).

    \b
    Example:
      collector key show
    """


@key.command("create")
@json_option
@click.pass_context
@handle_errors
def key_create(ctx: click.Context, as_json: bool) -> None:
    """Make the archive's signing keys (never over existing ones; a home with only the Ed25519 key
    gets its WACZ key).

    \b
    Example:
      collector key create
    """
    from collector.evidence.keys import create_key, create_wacz_key  # lazy: cryptography (~40 ms)
    from collector.evidence.ledger import archive_key, wacz_key  # lazy: cryptography

    config = cli_config(ctx)
    existing = archive_key(config)
    signer, _ = wacz_key(config, create=False)
    if existing is not None and signer is not None:
        raise InputError(f"a key already exists at {config.signing_key_path}; it is kept")
    made = existing or create_key(config.signing_key_path)
    _describe(config, made, signer or create_wacz_key(config.wacz_key_path), as_json)


@key.command("show")
@json_option
@click.pass_context
@handle_errors
def key_show(ctx: click.Context, as_json: bool) -> None:
    """Say where the signing keys are and give their fingerprints (Ed25519: sha256 of the raw key;
    ECDSA: sha256 of its DER public key).

    \b
    Example:
      collector key show --json
    """
    from collector.evidence.ledger import wacz_key  # lazy: cryptography costs ~40 ms at start

    config = cli_config(ctx)
    _describe(config, _existing_key(config), wacz_key(config, create=False)[0], as_json)


@key.command("export-public")
@json_option
@click.pass_context
@handle_errors
def key_export_public(ctx: click.Context, as_json: bool) -> None:
    """Print the public keys (PEM: the Ed25519 archive key, then the ECDSA WACZ key), what a
    verifier needs (`evidence verify --key`, `ledger verify --key`).

    \b
    Example:
      collector key export-public > archive-key.pub
    """
    from collector.evidence.keys import public_pem  # lazy: cryptography costs ~40 ms at start
    from collector.evidence.ledger import wacz_key  # lazy: cryptography

    config = cli_config(ctx)
    found = _existing_key(config)
    signer, _ = wacz_key(config, create=False)
    if as_json:
        emit_json({"algorithm": "ed25519", "public_key": found.public_key_hex,
                   "fingerprint": found.fingerprint, "pem": public_pem(found),
                   "wacz": None if signer is None else {
                       "algorithm": "ecdsa-p384", "fingerprint": signer.fingerprint,
                       "pem": signer.public_pem}})
    else:
        click.echo(public_pem(found) + (signer.public_pem if signer else ""), nl=False)


def _existing_key(config: Config) -> ArchiveKey:
    """The archive's signing key; NotFoundError (saying how to make one) when there is none."""
    from collector.evidence.ledger import archive_key  # lazy: cryptography costs ~40 ms at start

    found = archive_key(config)
    if found is None:
        raise NotFoundError(f"no key at {config.signing_key_path} (make one with `collector key "
                            "create`)")
    return found


def _describe(config: Config, archive: ArchiveKey, signer: WaczKey | None, as_json: bool) -> None:
    if as_json:
        emit_json({"path": str(config.signing_key_path), "algorithm": "ed25519",
                   "fingerprint": archive.fingerprint,
                   "wacz": None if signer is None else {
                       "path": str(config.wacz_key_path), "algorithm": "ecdsa-p384",
                       "fingerprint": signer.fingerprint}})
        return
    click.echo(f"key: {config.signing_key_path}\nalgorithm: ed25519\nfingerprint: {archive.fingerprint}")
    if signer is None:
        click.echo(f"wacz key: none yet at {config.wacz_key_path} (made by `collector key create` or "
                   "the first evidence package)")
    else:
        click.echo(f"wacz key: {config.wacz_key_path}\nwacz algorithm: ecdsa-p384\n"
                   f"wacz fingerprint: {signer.fingerprint}")


@click.group()
def ledger() -> None:
    """The tamper-evident capture ledger: checkpoints and verification (docs/evidence.md).

    \b
    Example:
      collector ledger verify
    """


@ledger.command("checkpoint")
@json_option
@click.pass_context
@handle_errors
def ledger_checkpoint(ctx: click.Context, as_json: bool) -> None:
    """Record a checkpoint now: the ledger's Merkle tree size and root, signed with the archive key.

    \b
    Example:
      collector ledger checkpoint --json
    """
    from collector.evidence.ledger import checkpoint  # lazy: cryptography and SQLAlchemy at start

    config = cli_config(ctx)
    archive = open_archive(config)
    try:
        point = checkpoint(archive, config, force=True)
    finally:
        archive.close()
    assert point is not None  # forced
    if as_json:
        emit_json(point.to_json())
    else:
        click.echo(f"checkpoint {point.id}: {point.tree_size} entries, root {point.root_hash}, "
                   + (f"signed by {point.key_fingerprint}" if point.signature else "unsigned "
                      "(no key: collector key create)")
                   + (f", timestamped {point.to_json()['tsa_time']}" if point.tsa_token else ""))


@ledger.command("verify")
@click.option("--from-checkpoint", type=int, default=None,
              help="Trust the entries this checkpoint covers (once its root and signature check "
                   "out); check the rest.")
@click.option("--key", "key_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="The trusted public key (PEM; default: the archive's own key).")
@click.option("--no-warc", is_flag=True, help="Do not re-read the WARC records the entries name.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes checking ranges of entries at once (default: one per CPU, up to 4, "
                   "from 200,000 entries on).")
@json_option
@click.pass_context
@handle_errors
def ledger_verify(ctx: click.Context, from_checkpoint: int | None, key_file: Path | None,
                  no_warc: bool, workers: int | None, as_json: bool) -> None:
    """Recompute every entry hash, the chain and the tree at each checkpoint, check each checkpoint's
    signature, and compare every entry with its row and WARC records; exit 1 on any problem.

    \b
    Example:
      collector ledger verify --json
    """
    from collector.evidence.ledger import verify  # lazy: cryptography and SQLAlchemy at start

    config = cli_config(ctx)
    archive = open_archive(config)
    try:
        report = verify(archive, config, key_file=key_file, from_checkpoint=from_checkpoint,
                        warc=not no_warc, workers=workers)
    finally:
        archive.close()
    if as_json:
        emit_json(report.to_json())
    else:
        for problem in report.problems:
            click.echo(f"problem: {problem['kind']}: {problem['detail']}")
        for warning in report.warnings:
            click.echo(f"warning: {warning['kind']}: {warning['detail']}")
        click.echo(f"{report.entries_checked} entries, {report.rows_checked} rows, "
                   f"{report.records_checked} records, {report.checkpoints_checked} checkpoints "
                   f"checked: " + ("ok" if report.ok else f"{len(report.problems)} problems"))
    if not report.ok:
        sys.exit(1)


@ledger.command("timestamp")
@json_option
@click.pass_context
@handle_errors
def ledger_timestamp(ctx: click.Context, as_json: bool) -> None:
    """Timestamp the checkpoints that have no RFC 3161 token yet (the TSA was unreachable when they
    were recorded) with the authority in tsa_url; exit 1 if any still could not be.

    \b
    Example:
      COLLECTOR_TSA_URL=https://freetsa.org/tsr collector ledger timestamp
    """
    from collector.evidence.ledger import timestamp_pending  # lazy: cryptography, rfc3161-client

    config = cli_config(ctx)
    archive = open_archive(config)
    try:
        done, errors = timestamp_pending(archive, config)
    finally:
        archive.close()
    if as_json:
        emit_json({"timestamped": [p.to_json() for p in done], "errors": errors})
    else:
        for point in done:
            click.echo(f"checkpoint {point.id}: timestamped {point.to_json()['tsa_time']} by "
                       f"{point.tsa_url}")
        for error in errors:
            click.echo(f"error: {error}", err=True)
        if not done and not errors:
            click.echo("every checkpoint is already timestamped")
    if errors:
        sys.exit(1)
