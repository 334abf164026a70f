"""RFC 3161 trusted timestamps of ledger checkpoints, through ``rfc3161-client``.

A checkpoint's **statement** (the canonical JSON its Ed25519 signature covers: tree size, root, time)
is sent to the time-stamping authority (TSA) configured as ``tsa_url``; the message imprint is the
statement's SHA-256. The TSA's response (DER) is kept with the checkpoint: it proves the root existed
at the TSA's ``genTime``, from a clock the archive does not control.

``check_token`` verifies a response offline: status granted, the imprint is the statement's (a token
of another checkpoint fails here) and, when the TSA's CA is given (``tsa_ca_file``, ``--tsa-ca``, or
the CA an evidence package carries), the CMS signature, the TSA certificate's critical
``timeStamping`` extended key usage and its chain to that CA. Without a CA the signature cannot be
anchored: ``TokenCheck.chain_checked`` is False and callers warn.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from collector.errors import CollectorError

__all__ = ["TimestampError", "TokenCheck", "check_token", "request_token"]

REQUEST_TYPE = "application/timestamp-query"


class TimestampError(CollectorError):
    """A TSA could not be reached or answered with something other than a valid token."""


@dataclass(frozen=True)
class TokenCheck:
    """What a verified token says: its genTime, the TSA's certificate subject, whether the chain to a
    trusted CA was checked."""

    time: datetime
    tsa: str
    chain_checked: bool


def request_token(url: str, message: bytes, *, timeout: float = 10.0) -> tuple[bytes, datetime]:
    """Ask the TSA at ``url`` to timestamp ``message`` (SHA-256 imprint, with a nonce, asking for its
    certificate); (the response DER, its genTime). Raises ``TimestampError`` when the TSA cannot be
    reached or its answer is not a granted token over ``message``."""
    request = (TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256)
               .nonce(nonce=True).cert_request(cert_request=True).build())
    http = urllib.request.Request(url, data=request.as_bytes(), method="POST",
                                  headers={"Content-Type": REQUEST_TYPE})
    try:
        with urllib.request.urlopen(http, timeout=timeout) as answer:
            body = answer.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise TimestampError(f"the time-stamping authority {url} cannot be reached: {exc}") from exc
    try:
        response = decode_timestamp_response(body)
    except ValueError as exc:
        raise TimestampError(f"the time-stamping authority {url} did not answer with a "
                             f"timestamp response: {exc}") from exc
    if response.status != 0 or response.tst_info.nonce != request.nonce:
        raise TimestampError(f"the time-stamping authority {url} refused the request "
                             f"(status {response.status} {' '.join(response.status_string)})")
    if response.tst_info.message_imprint.message != hashlib.sha256(message).digest():
        raise TimestampError(f"the time-stamping authority {url} timestamped another message")
    return body, _utc(response.tst_info.gen_time)


def check_token(token: bytes, message: bytes, *, ca_pem: bytes | None = None) -> TokenCheck:
    """Verify the time-stamp response ``token`` over ``message`` (see the module docstring); raises
    ``TimestampError`` saying what failed. Without ``ca_pem`` only the status and the imprint are
    checked (``chain_checked`` False): the token's CMS signature needs a trust anchor."""
    try:
        response = decode_timestamp_response(token)
    except ValueError as exc:
        raise TimestampError(f"not an RFC 3161 timestamp response: {exc}") from exc
    embedded = [x509.load_der_x509_certificate(c) for c in response.signed_data.certificates]
    leaf = _leaf(response, embedded)
    if response.tst_info.message_imprint.message != hashlib.sha256(message).digest():
        raise TimestampError("the timestamp token is over another message (another checkpoint's "
                             "statement)")
    if response.status != 0:
        raise TimestampError(f"the timestamp response was not granted (status {response.status})")
    if ca_pem is not None:
        builder = VerifierBuilder()
        try:
            given = x509.load_pem_x509_certificates(ca_pem)
        except ValueError as exc:
            raise TimestampError(f"the TSA CA file is not PEM certificates: {exc}") from exc
        for cert in given:
            if cert.subject == cert.issuer:
                builder = builder.add_root_certificate(cert)
            else:
                builder = builder.add_intermediate_certificate(cert)
        try:
            builder.build().verify_message(response, message)
        except (VerificationError, ValueError) as exc:
            raise TimestampError(f"the timestamp token does not verify with the TSA CA: {exc}"
                                 ) from exc
    return TokenCheck(time=_utc(response.tst_info.gen_time),
                      tsa=leaf.subject.rfc4514_string() if leaf is not None else "",
                      chain_checked=ca_pem is not None)


def token_time(token: bytes) -> datetime:
    """The genTime of a time-stamp response (unverified)."""
    return _utc(decode_timestamp_response(token).tst_info.gen_time)


def _leaf(response: TimeStampResponse, certs: list[x509.Certificate]) -> x509.Certificate | None:
    infos = list(response.signed_data.signer_infos)
    for cert in certs:
        if infos and cert.issuer == infos[0].issuer and cert.serial_number == infos[0].serial_number:
            return cert
    return None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
