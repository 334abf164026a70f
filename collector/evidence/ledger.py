"""The ledger as a configuration sees it: checkpoints signed with the archive key, and verification
against that key (the storage side is ``storage.ledger`` and ``storage.ledgerverify``).

Without a key file, checkpoints are recorded unsigned and ``ledger verify`` warns; collector never
makes a key on its own (a key nobody knows about proves nothing to anyone): ``collector key create``.

With ``tsa_url`` set, each new checkpoint's statement is also timestamped by that RFC 3161 authority
(``collector.evidence.timestamps``). A TSA that cannot be reached leaves the checkpoint kept and
untimestamped (logged); ``collector ledger timestamp`` (``timestamp_pending``) timestamps those later.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from collector.config import Config
from collector.errors import CollectorError, ConfigError, InputError
from storage.ledger import checkpoints, record_timestamp
from storage.verify import Findings

if TYPE_CHECKING:
    from collector.evidence.keys import ArchiveKey, WaczKey
    from storage.archive import Archive
    from storage.ledger import Checkpoint
    from storage.ledgerverify import LedgerReport

__all__ = ["archive_key", "check_timestamps", "checkpoint", "signing_key", "stamp_if_configured",
           "timestamp_pending", "verify", "wacz_key"]

log = logging.getLogger(__name__)


def archive_key(config: Config) -> ArchiveKey | None:
    """The archive's signing key, None when there is none (a key file that cannot be used raises)."""
    path = config.signing_key_path
    if not path.exists():
        return None
    from collector.evidence.keys import load_key  # lazy: cryptography (~30 ms) only when there is a key

    return load_key(path)


def wacz_key(config: Config, *, create: bool = True) -> tuple[WaczKey | None, bool]:
    """The archive's WACZ key (ECDSA P-384, it signs evidence packages) and whether it was made now:
    a home from before that key gets one on first need (``create``; logged), for the archive key
    vouches for it in every package. (None, False) without it and without ``create``."""
    from collector.evidence.keys import create_wacz_key, load_wacz_key  # lazy: as archive_key

    path = config.wacz_key_path
    if path.exists():
        return load_wacz_key(path), False
    if not create:
        return None, False
    try:
        made = create_wacz_key(path)
    except InputError:  # another process made it first
        return load_wacz_key(path), False
    log.warning("there was no WACZ signing key: made %s (ECDSA P-384, fingerprint %s); the archive "
                "key vouches for it in every evidence package", path, made.fingerprint)
    return made, True


def checkpoint(archive: Archive, config: Config, *, force: bool = False) -> Checkpoint | None:
    """Record a checkpoint of ``archive``'s ledger, signed when the archive has a key and timestamped
    when ``tsa_url`` is set (a TSA that fails is logged: the checkpoint stays, untimestamped); None
    when the ledger has not grown since the last one (unless ``force``)."""
    point = archive.checkpoint(archive_key(config), force=force)
    return stamp_if_configured(archive, config, point)


class HasSessions(Protocol):
    """What timestamping needs of an archive (an ``Archive``, the daemon's job runtime): its sessions."""

    @property
    def sessions(self) -> Any: ...


def stamp_if_configured(archive: HasSessions, config: Config, point: Checkpoint | None
                        ) -> Checkpoint | None:
    """``point`` with its RFC 3161 token when ``tsa_url`` is set and the TSA answers (stored)."""
    if point is None or not config.tsa_url:
        return point
    from collector.evidence.timestamps import TimestampError  # lazy: rfc3161-client with a TSA only

    try:
        return _stamp(archive, config, point)
    except TimestampError as exc:
        log.warning("ledger checkpoint %d is kept untimestamped (collector ledger timestamp will "
                    "retry): %s", point.id, exc)
        return point


def _stamp(archive: HasSessions, config: Config, point: Checkpoint) -> Checkpoint:
    from collector.evidence.timestamps import request_token  # lazy: rfc3161-client with a TSA only

    token, when = request_token(config.tsa_url, point.statement.encode("utf-8"),
                                timeout=config.tsa_timeout)
    record_timestamp(archive.sessions, point.id, token=token, time=when, url=config.tsa_url)
    return dataclasses.replace(point, tsa_token=token, tsa_time=when, tsa_url=config.tsa_url)


def timestamp_pending(archive: Archive, config: Config) -> tuple[list[Checkpoint], list[str]]:
    """Timestamp every checkpoint that has no token yet (oldest first): (those timestamped now, the
    errors of those that could not be). Raises ``ConfigError`` when no ``tsa_url`` is set."""
    if not config.tsa_url:
        raise ConfigError("no time-stamping authority is configured: set tsa_url in collector.toml "
                          "or $COLLECTOR_TSA_URL")
    from collector.evidence.timestamps import TimestampError  # lazy: rfc3161-client with a TSA only

    with archive.sessions() as session:
        pending = [p for p in checkpoints(session) if p.tsa_token is None]
    done: list[Checkpoint] = []
    errors: list[str] = []
    for point in pending:
        try:
            done.append(_stamp(archive, config, point))
        except TimestampError as exc:
            errors.append(f"checkpoint {point.id}: {exc}")
    return done, errors


def signing_key(config: Config) -> ArchiveKey | None:
    """The key that signs a checkpoint taken on its own (a run's end, the daemon's hourly job): an
    unusable key leaves the checkpoint unsigned (logged), never lost."""
    try:
        return archive_key(config)
    except CollectorError as exc:
        log.error("the ledger checkpoint is unsigned: %s", exc)
        return None


def checkpoint_after_run(archive: Archive, config: Config) -> None:
    """The checkpoint at the end of a capture run: an unusable key leaves it unsigned (logged), never
    lost."""
    point = stamp_if_configured(archive, config, archive.checkpoint(signing_key(config)))
    if point is not None:
        log.info("ledger checkpoint %d: %d entries, root %s%s", point.id, point.tree_size,
                 point.root_hash, "" if point.signature else " (unsigned)")


def verify(archive: Archive, config: Config, *, key_file: Path | None = None,
           from_checkpoint: int | None = None, warc: bool = True, workers: int | None = None
           ) -> LedgerReport:
    """Verify ``archive``'s ledger against the public key in ``key_file`` (a public or private key
    PEM), else the archive's own key; without either, signatures are not checked (a warning)."""
    from collector.evidence.keys import load_public_key, verify_signature  # lazy: cryptography (~30 ms)
    from storage.ledgerverify import verify_ledger  # lazy: CLI start-up

    if key_file is not None:
        public: str | None = load_public_key(key_file)
    else:
        key = archive_key(config)
        public = key.public_key_hex if key else None
    report = verify_ledger(archive.sessions, config.warc_dir if warc else None, public_key=public,
                           check_signature=verify_signature if public else None,
                           from_checkpoint=from_checkpoint, workers=workers)
    with archive.sessions() as session:
        points = checkpoints(session)
    check_timestamps(points, report, ca_file=config.tsa_ca_file, expected=bool(config.tsa_url))
    return report


def check_timestamps(points: list[Checkpoint], report: Findings, *, ca_file: Path | None,
                     expected: bool = False) -> None:
    """Check the RFC 3161 token of every checkpoint that has one (its imprint is the checkpoint's
    statement, its signature and chain verify with ``ca_file``), adding to ``report``: problems
    ``timestamp-mismatch`` (a token over another statement) and ``bad-timestamp``; warnings
    ``timestamp-unchecked`` (no CA to check signatures with) and, when ``expected`` (a TSA is
    configured), ``untimestamped-checkpoint``."""
    stamped = [p for p in points if p.tsa_token is not None]
    if expected:
        for point in points:
            if point.tsa_token is None:
                report.warnings.append({"kind": "untimestamped-checkpoint", "checkpoint": point.id,
                                        "detail": f"checkpoint {point.id} has no timestamp "
                                                  "(collector ledger timestamp)"})
    if not stamped:
        return
    from collector.evidence.timestamps import TimestampError, check_token  # lazy: rfc3161-client

    ca_pem = _read_ca(ca_file)
    if ca_pem is None:
        report.warnings.append({"kind": "timestamp-unchecked",
                                "detail": "no TSA CA (tsa_ca_file): timestamp signatures were not "
                                          "checked, only that each token is over its checkpoint"})
    for point in stamped:
        assert point.tsa_token is not None
        where = {"checkpoint": point.id, "tree_size": point.tree_size}
        try:
            found = check_token(point.tsa_token, point.statement.encode("utf-8"), ca_pem=ca_pem)
        except TimestampError as exc:
            kind = "timestamp-mismatch" if "another message" in str(exc) else "bad-timestamp"
            report.problems.append({**where, "kind": kind,
                                    "detail": f"checkpoint {point.id}: {exc}"})
            continue
        if point.tsa_time is not None and found.time != point.tsa_time.astimezone(found.time.tzinfo):
            report.problems.append({**where, "kind": "bad-timestamp",
                                    "detail": f"checkpoint {point.id}: its recorded timestamp time "
                                              "is not the token's"})


def _read_ca(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the TSA CA file {path} (tsa_ca_file): {exc}") from exc
