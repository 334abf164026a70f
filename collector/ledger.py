"""The ledger as a configuration sees it: checkpoints signed with the archive key, and verification
against that key (the storage side is ``storage.ledger`` and ``storage.ledgerverify``).

Without a key file, checkpoints are recorded unsigned and ``ledger verify`` warns; collector never
makes a key on its own (a key nobody knows about proves nothing to anyone): ``collector key create``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from collector.config import Config
from collector.errors import CollectorError

if TYPE_CHECKING:
    from collector.keys import ArchiveKey
    from storage.archive import Archive
    from storage.ledger import Checkpoint
    from storage.ledgerverify import LedgerReport

__all__ = ["archive_key", "checkpoint", "signing_key", "verify"]

log = logging.getLogger(__name__)


def archive_key(config: Config) -> ArchiveKey | None:
    """The archive's signing key, None when there is none (a key file that cannot be used raises)."""
    path = config.signing_key_path
    if not path.exists():
        return None
    from collector.keys import load_key  # lazy: cryptography (~30 ms) only when there is a key

    return load_key(path)


def checkpoint(archive: Archive, config: Config, *, force: bool = False) -> Checkpoint | None:
    """Record a checkpoint of ``archive``'s ledger, signed when the archive has a key; None when the
    ledger has not grown since the last one (unless ``force``)."""
    return archive.checkpoint(archive_key(config), force=force)


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
    point = archive.checkpoint(signing_key(config))
    if point is not None:
        log.info("ledger checkpoint %d: %d entries, root %s%s", point.id, point.tree_size,
                 point.root_hash, "" if point.signature else " (unsigned)")


def verify(archive: Archive, config: Config, *, key_file: Path | None = None,
           from_checkpoint: int | None = None, warc: bool = True, workers: int | None = None
           ) -> LedgerReport:
    """Verify ``archive``'s ledger against the public key in ``key_file`` (a public or private key
    PEM), else the archive's own key; without either, signatures are not checked (a warning)."""
    from collector.keys import load_public_key, verify_signature  # lazy: cryptography (~30 ms)
    from storage.ledgerverify import verify_ledger  # lazy: CLI start-up

    if key_file is not None:
        public: str | None = load_public_key(key_file)
    else:
        key = archive_key(config)
        public = key.public_key_hex if key else None
    return verify_ledger(archive.sessions, config.warc_dir if warc else None, public_key=public,
                         check_signature=verify_signature if public else None,
                         from_checkpoint=from_checkpoint, workers=workers)
