"""TLS evidence of each https response: did the certificate chain verify, whose certificate was it.

Scrapy does not verify certificates (its default, and collector's: a source whose certificate expired
is still archived), and a capture through a man-in-the-middle proxy would otherwise look like a genuine
one. So every https response gets a record of the handshake, verified here without ever failing it:

1. :class:`RecordingTLSPolicy` wraps the download handler's TLS policy. Its connections keep the verify
   callback OpenSSL calls during the handshake (which accepts every certificate, as Scrapy's does) and,
   at the leaf, note what the server sent: the peer chain (leaf first), the TLS version and the cipher,
   in a :class:`HandshakeLog` keyed by the leaf's SHA-256 fingerprint (it holds the handshakes of the
   live connections, a kept-alive one however long it idles in the pool, and the latest 512).
2. When a response arrives, the handler looks up the handshake of ``response.certificate`` (the leaf
   of the connection it came over, new or kept alive) and :func:`describe_tls` verifies the chain with
   ``cryptography``'s X.509 path validation (RFC 5280 with the CA/Browser Forum's web profile: chain
   to a trusted root, validity dates, key usages, and the host name or IP address against the
   subjectAltName) against :func:`trust_store`: the Mozilla roots of ``certifi`` plus an optional
   PEM file of extra CAs (``tls_ca_file``). The result goes in ``request.meta[TLS_KEY]``.
3. With ``tls_verify`` on, :class:`TLSVerifyMiddleware` turns an untrusted response of a capture into
   :class:`UntrustedCertificateError` (reason ``tls-untrusted``) *after* the recording middleware kept
   it: the attempt fails, and what the server sent is in the WARC as evidence.

Verification is done here rather than by OpenSSL during the handshake so that the handshake never
depends on it (nothing is refused by default) and the trust store is parsed once per process, not once
per connection.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from OpenSSL import SSL
from scrapy.exceptions import NotConfigured
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["TLS_KEY", "Handshake", "HandshakeLog", "RecordingTLSPolicy", "TLSVerifyMiddleware",
           "UntrustedCertificateError", "describe_tls", "handshake_of", "now_utc", "trust_store",
           "verify_chain"]

log = logging.getLogger(__name__)

TLS_KEY = "collector_tls"  # request.meta: the TLS record of the response just downloaded (None: http)
_HOPS_KEY = "collector_hops"  # spiders.recording.HOPS_KEY: only capture requests are refused


class UntrustedCertificateError(Exception):
    """An https response whose certificate chain did not verify, refused because ``tls_verify`` is on."""


@dataclass(frozen=True)
class Handshake:
    """What a TLS handshake showed: the peer's chain (DER, leaf first, as sent), version and cipher."""

    chain: tuple[bytes, ...]
    version: str | None = None
    cipher: str | None = None

    @property
    def fingerprint(self) -> str:
        """The leaf certificate's SHA-256 fingerprint (hex)."""
        return hashlib.sha256(self.chain[0]).hexdigest()


class HandshakeLog:
    """Handshakes by leaf fingerprint: those of live connections (each connection keeps its own
    alive, see ``_RecordingCreator``), and the latest ``size`` whatever became of their connection."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._recent: OrderedDict[str, Handshake] = OrderedDict()
        self._live: weakref.WeakValueDictionary[str, Handshake] = weakref.WeakValueDictionary()

    def add(self, handshake: Handshake) -> None:
        """Remember ``handshake`` (replacing an older one of the same leaf)."""
        key = handshake.fingerprint
        self._live[key] = handshake
        self._recent[key] = handshake
        self._recent.move_to_end(key)
        while len(self._recent) > self.size:
            self._recent.popitem(last=False)

    def get(self, fingerprint: str) -> Handshake | None:
        """The handshake whose leaf has this fingerprint, if it is remembered."""
        return self._recent.get(fingerprint) or self._live.get(fingerprint)


@functools.cache
def trust_store(ca_file: str | None = None) -> Store:
    """The trusted roots: certifi's Mozilla bundle, plus the PEM certificates of ``ca_file``."""
    import certifi  # lazy: only a crawl that meets https needs the bundle (parsed once)

    roots = _load_pem(Path(certifi.where()).read_bytes())
    if ca_file:
        try:
            extra = _load_pem(Path(ca_file).read_bytes())
        except (OSError, ValueError) as exc:
            raise NotConfigured(f"tls_ca_file {ca_file}: no PEM certificates ({exc})") from exc
        roots += extra
    return Store(roots)


def _load_pem(data: bytes) -> list[x509.Certificate]:
    with warnings.catch_warnings():  # a root or two in the bundle has a negative serial number
        warnings.simplefilter("ignore")
        return x509.load_pem_x509_certificates(data)


def verify_chain(chain: Sequence[x509.Certificate], host: str, store: Store, now: datetime) -> str | None:
    """None when ``chain`` (leaf first) verifies for ``host`` at ``now``; else why not, for people."""
    leaf = chain[0]
    subject: x509.DNSName | x509.IPAddress
    try:
        subject = x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        subject = x509.DNSName(host.rstrip(".").lower())
    # a root the server sends along is no intermediate: trust comes from the store only
    intermediates = [c for c in chain[1:] if c.subject != c.issuer]
    try:
        PolicyBuilder().store(store).time(now.replace(tzinfo=None)).build_server_verifier(
            subject).verify(leaf, intermediates)
    except VerificationError as exc:
        return _why(leaf, host, now, str(exc))
    except ValueError as exc:  # a certificate cryptography cannot use at all
        return f"unusable certificate: {exc}"
    return None


def _why(leaf: x509.Certificate, host: str, now: datetime, message: str) -> str:
    """A reader's reason for a failed verification (cryptography's message when none fits)."""
    if leaf.not_valid_after_utc < now:
        return f"certificate expired on {leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    if leaf.not_valid_before_utc > now:
        return f"certificate not valid before {leaf.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}"
    if "subjectAltName" in message or "SAN" in message:
        return f"certificate is not valid for {host} ({_strip(message)})"
    if leaf.subject == leaf.issuer:
        return "self-signed certificate"
    if "candidates exhausted" in message:
        return f"no chain to a trusted root (issuer {leaf.issuer.rfc4514_string()})"
    return _strip(message)


def _strip(message: str) -> str:
    return message.removeprefix("validation failed: ").split(" (encountered processing", 1)[0]


def describe_tls(handshake: Handshake, host: str, store: Store, now: datetime) -> dict[str, Any]:
    """The TLS record of a response: ``verified``, ``detail`` (``verified`` or ``untrusted: <why>``),
    the leaf's ``fingerprint`` (SHA-256 hex), ``subject`` and ``issuer`` (RFC 4514), ``version``,
    ``cipher``, and ``chain_length`` (certificates the server sent)."""
    try:
        chain = [x509.load_der_x509_certificate(der) for der in handshake.chain]
    except ValueError as exc:
        return {"verified": False, "detail": f"untrusted: unreadable certificate ({exc})",
                "fingerprint": handshake.fingerprint, "subject": None, "issuer": None,
                "version": handshake.version, "cipher": handshake.cipher,
                "chain_length": len(handshake.chain)}
    problem = verify_chain(chain, host, store, now)
    return {"verified": problem is None,
            "detail": "verified" if problem is None else f"untrusted: {problem}",
            "fingerprint": handshake.fingerprint,
            "subject": chain[0].subject.rfc4514_string(), "issuer": chain[0].issuer.rfc4514_string(),
            "version": handshake.version, "cipher": handshake.cipher,
            "chain_length": len(chain)}


# -- the handshake side (Twisted, OpenSSL) ------------------------------------------------------------

@implementer(IPolicyForHTTPS)
class RecordingTLSPolicy:
    """A TLS policy that is ``inner`` plus a note of each handshake in ``log``."""

    def __init__(self, inner: Any, log: HandshakeLog) -> None:
        self.inner = inner
        self.log = log

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        """The inner policy's connection creator, recording the handshakes of its connections."""
        return _RecordingCreator(self.inner.creatorForNetloc(hostname, port), self.log.add)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@implementer(IOpenSSLClientConnectionCreator)
class _RecordingCreator:
    def __init__(self, inner: Any, record: Callable[[Handshake], None]) -> None:
        self.inner = inner
        self.record = record

    def clientConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:
        connection: SSL.Connection = self.inner.clientConnectionForTLS(tlsProtocol)
        protocol = weakref.ref(tlsProtocol)
        record = self.record

        def verify(connection: SSL.Connection, cert: Any, err: int, depth: int, ok: int) -> bool:
            """OpenSSL's verify callback: accept (verification is ours, later); at the leaf, note
            the chain, version and cipher (all known once the server's Certificate is read)."""
            if depth == 0:
                try:
                    chain = (connection.get_peer_cert_chain(as_cryptography=True)
                             or [cert.to_cryptography()])
                    handshake = Handshake(
                        tuple(c.public_bytes(serialization.Encoding.DER) for c in chain),
                        connection.get_protocol_version_name(), connection.get_cipher_name())
                    live = protocol()
                    if live is not None:  # the connection keeps its handshake for as long as it lives
                        live.collector_handshake = handshake
                    record(handshake)
                except Exception:  # raised in an OpenSSL callback, it would be lost: say it here
                    log.warning("could not record the TLS handshake", exc_info=True)
            return True

        connection.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, verify)
        return connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def handshake_of(log: HandshakeLog, response: Response) -> Handshake | None:
    """The handshake of the connection ``response`` came over (None for http)."""
    certificate = getattr(response, "certificate", None)
    if certificate is None:
        return None
    der = certificate.dump()  # twisted's Certificate: DER by default
    found = log.get(hashlib.sha256(der).hexdigest())
    return found if found is not None else Handshake((der,))


class TLSVerifyMiddleware:
    """With ``COLLECTOR_TLS_VERIFY``, a capture's response whose chain did not verify fails the
    attempt (``UntrustedCertificateError``); placed after the recording middleware, so the response
    is archived all the same."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TLSVerifyMiddleware:
        """On only with the COLLECTOR_TLS_VERIFY setting."""
        if not crawler.settings.getbool("COLLECTOR_TLS_VERIFY"):
            raise NotConfigured("COLLECTOR_TLS_VERIFY is off: untrusted certificates are recorded only")
        return cls()

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Response:
        """Refuse an untrusted https response of a capture request (robots.txt is left alone)."""
        tls = request.meta.get(TLS_KEY)
        if tls and not tls.get("verified") and _HOPS_KEY in request.meta:
            raise UntrustedCertificateError(
                f"certificate not trusted for {request.url}: {tls.get('detail') or 'untrusted'}")
        return response


def now_utc() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)
