"""The archive's signing key: Ed25519 through ``cryptography``, kept in a PEM file of mode 0600.

The key signs ledger checkpoints (``storage.ledger``). A verifier needs only the public key; its
fingerprint is the SHA-256 of the raw 32-byte public key, hex. A key file readable by others than its
owner is refused (as ssh refuses one), so a leaked copy is noticed before it signs anything.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from collector.errors import ConfigError, InputError

__all__ = ["ArchiveKey", "create_key", "fingerprint", "load_key", "load_public_key", "public_der",
           "public_pem", "raw_from_spki", "verify_signature"]


def fingerprint(public_raw: bytes) -> str:
    """The fingerprint of a raw Ed25519 public key: its SHA-256, hex."""
    return hashlib.sha256(public_raw).hexdigest()


@dataclass(frozen=True)
class ArchiveKey:
    """A loaded private key (a ``storage.ledger.Signer``)."""

    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        """The raw 32-byte public key."""
        return self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                      serialization.PublicFormat.Raw)

    @property
    def public_key_hex(self) -> str:
        """The raw public key, hex."""
        return self.public_raw.hex()

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the raw public key, hex."""
        return fingerprint(self.public_raw)

    def sign(self, data: bytes) -> bytes:
        """An Ed25519 signature of ``data``."""
        return self.private.sign(data)


def create_key(path: Path) -> ArchiveKey:
    """Make a new key and write it to ``path`` (mode 0600, never over an existing file)."""
    key = ArchiveKey(Ed25519PrivateKey.generate())
    pem = key.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InputError(f"a key already exists at {path}; it is kept") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    return key


def load_key(path: Path) -> ArchiveKey:
    """The private key at ``path``; refused when the file is readable or writable by group or others."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"the key file {path} has mode {mode:04o}; it must be readable by its "
                              f"owner only (chmod 600 {path})")
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise InputError(f"no key at {path} (make one with `collector key create`)") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the key file {path} is not a PEM private key: {exc}") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigError(f"the key file {path} does not hold an Ed25519 key")
    return ArchiveKey(private)


def public_pem(key: ArchiveKey) -> str:
    """The public key as PEM (SubjectPublicKeyInfo)."""
    return key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def public_der(key: ArchiveKey) -> bytes:
    """The public key as DER (SubjectPublicKeyInfo), as the WACZ signature's ``publicKey`` holds it."""
    return key.private.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def raw_from_spki(data: bytes, *, pem: bool = False) -> str:
    """The raw Ed25519 public key (hex) of a SubjectPublicKeyInfo (DER, or PEM with ``pem``); raises
    ``InputError`` for anything else."""
    try:
        public = (serialization.load_pem_public_key(data) if pem
                  else serialization.load_der_public_key(data))
    except ValueError as exc:
        raise InputError(f"not a public key: {exc}") from exc
    if not isinstance(public, Ed25519PublicKey):
        raise InputError("not an Ed25519 public key")
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def load_public_key(path: Path) -> str:
    """The raw public key (hex) in a PEM public key file, or of the private key in a key file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the key file {path}: {exc}") from exc
    if b"PRIVATE KEY" in data:
        return load_key(path).public_key_hex
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise InputError(f"{path} is not a PEM public key: {exc}") from exc
    if not isinstance(public, Ed25519PublicKey):
        raise InputError(f"{path} does not hold an Ed25519 public key")
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def verify_signature(public_hex: str, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is the Ed25519 signature of ``data`` by the raw public key given."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True
