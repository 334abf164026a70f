"""The archive's signing keys, through ``cryptography``, each kept in a PEM file of mode 0600.

- The **archive key** (Ed25519) signs ledger checkpoints (``storage.ledger``). Its fingerprint is the
  SHA-256 of the raw 32-byte public key, hex.
- The **WACZ key** (ECDSA P-384) signs evidence packages' ``datapackage-digest.json`` in the WACZ
  signing specification's anonymous form, as ArchiveWeb.page signs and ReplayWeb.page verifies it
  (``wacz_sign``): ECDSA with SHA-256 over the ``hash`` string, the signature as WebCrypto gives it
  (IEEE P1363: r || s). Its fingerprint is the SHA-256 of its DER SubjectPublicKeyInfo, hex. The
  archive key vouches for it (``binding_statement``), so a verifier who trusts the archive key knows
  the package was signed by the same archive.

A verifier needs only the public keys. A key file readable by others than its owner is refused (as
ssh refuses one), so a leaked copy is noticed before it signs anything.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from collector.errors import ConfigError, InputError

__all__ = ["BINDING_TYPE", "WACZ_CURVE", "ArchiveKey", "TrustedKeys", "WaczKey", "binding_statement",
           "create_key", "create_wacz_key", "fingerprint", "load_key", "load_public_key",
           "load_public_keys", "load_wacz_key", "public_der", "public_pem", "raw_from_spki",
           "verify_signature", "verify_wacz_signature", "wacz_fingerprint"]

WACZ_CURVE = ec.SECP384R1()  # what ArchiveWeb.page signs with and ReplayWeb.page imports a key as
BINDING_TYPE = "collector-wacz-key/1"  # the archive key's statement naming the WACZ key


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
    _write_private(path, key.private)
    return key


def _write_private(path: Path, private: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> None:
    """Write ``private`` to ``path`` as PKCS#8 PEM, mode 0600, never over an existing file."""
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
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


def load_key(path: Path) -> ArchiveKey:
    """The private key at ``path``; refused when the file is readable or writable by group or others."""
    private = _read_private(path)
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigError(f"the key file {path} does not hold an Ed25519 key")
    return ArchiveKey(private)


def _read_private(path: Path) -> Any:
    """The private key in the PEM file ``path``, refused when group or others may read or write it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"the key file {path} has mode {mode:04o}; it must be readable by its "
                              f"owner only (chmod 600 {path})")
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise InputError(f"no key at {path} (make one with `collector key create`)") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the key file {path} is not a PEM private key: {exc}") from exc


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
    """The raw Ed25519 public key (hex) in a PEM public key file (``collector key export-public``:
    the archive key, then the WACZ key), or of the private key in a key file."""
    archive = load_public_keys(path).archive
    if archive is None:
        raise InputError(f"{path} does not hold an Ed25519 public key")
    return archive


@dataclass(frozen=True)
class TrustedKeys:
    """The public keys a verifier was given: the archive key (raw Ed25519, hex) and the WACZ key
    (DER SubjectPublicKeyInfo), each None when not given."""

    archive: str | None
    wacz: bytes | None


def load_public_keys(path: Path) -> TrustedKeys:
    """The public keys in a PEM file (each ``PUBLIC KEY`` block: Ed25519 is the archive key, EC the
    WACZ key), or the archive key of an Ed25519 private key file; ``InputError`` when it holds none."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the key file {path}: {exc}") from exc
    if b"PRIVATE KEY" in data:
        return TrustedKeys(load_key(path).public_key_hex, None)
    archive: str | None = None
    wacz: bytes | None = None
    for block in _PEM_BLOCK.findall(data):
        try:
            public = serialization.load_pem_public_key(block)
        except ValueError as exc:
            raise InputError(f"{path} is not a PEM public key: {exc}") from exc
        if isinstance(public, Ed25519PublicKey):
            archive = public.public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw).hex()
        elif isinstance(public, ec.EllipticCurvePublicKey):
            wacz = public.public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    if archive is None and wacz is None:
        raise InputError(f"{path} holds no Ed25519 or ECDSA PEM public key")
    return TrustedKeys(archive, wacz)


_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def verify_signature(public_hex: str, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is the Ed25519 signature of ``data`` by the raw public key given."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


# -- the WACZ key (ECDSA P-384) ---------------------------------------------------------------------
def wacz_fingerprint(spki_der: bytes) -> str:
    """The fingerprint of a WACZ public key: the SHA-256 of its DER SubjectPublicKeyInfo, hex."""
    return hashlib.sha256(spki_der).hexdigest()


@dataclass(frozen=True)
class WaczKey:
    """A loaded ECDSA P-384 private key that signs evidence packages."""

    private: ec.EllipticCurvePrivateKey

    @property
    def public_der(self) -> bytes:
        """The public key as DER SubjectPublicKeyInfo (what ``signedData.publicKey`` holds, base64)."""
        return self.private.public_key().public_bytes(serialization.Encoding.DER,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def public_pem(self) -> str:
        """The public key as PEM (SubjectPublicKeyInfo)."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER public key, hex."""
        return wacz_fingerprint(self.public_der)

    def sign(self, data: bytes) -> bytes:
        """The ECDSA (SHA-256) signature of ``data`` as WebCrypto encodes it: r || s, each as long as
        the curve's order (48 bytes on P-384)."""
        r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        size = (self.private.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def create_wacz_key(path: Path) -> WaczKey:
    """Make a new WACZ key and write it to ``path`` (mode 0600, never over an existing file)."""
    key = WaczKey(ec.generate_private_key(WACZ_CURVE))
    _write_private(path, key.private)
    return key


def load_wacz_key(path: Path) -> WaczKey:
    """The WACZ key at ``path`` (refused as ``load_key`` refuses a key file, or not ECDSA P-384)."""
    private = _read_private(path)
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != WACZ_CURVE.name:
        raise ConfigError(f"the key file {path} does not hold an ECDSA P-384 key")
    return WaczKey(private)


def verify_wacz_signature(spki_der: bytes, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (r || s as WebCrypto gives it, or DER as authsign gives it) is the ECDSA
    SHA-256 signature of ``data`` by the EC public key ``spki_der`` (DER SubjectPublicKeyInfo)."""
    try:
        public = serialization.load_der_public_key(spki_der)
    except ValueError:
        return False
    if not isinstance(public, ec.EllipticCurvePublicKey):
        return False
    size = (public.curve.key_size + 7) // 8
    if len(signature) == 2 * size:
        signature = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                         int.from_bytes(signature[size:], "big"))
    try:
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def binding_statement(archive_public_hex: str, wacz_spki_der: bytes) -> bytes:
    """The statement the archive key signs to vouch for its WACZ key: canonical JSON (sorted keys, no
    whitespace) of its type, the archive key (raw hex) and the WACZ key (base64 DER)."""
    wacz = base64.b64encode(wacz_spki_der).decode("ascii")
    return json.dumps({"archive_key": archive_public_hex, "type": BINDING_TYPE, "wacz_key": wacz},
                      sort_keys=True, separators=(",", ":")).encode("ascii")
