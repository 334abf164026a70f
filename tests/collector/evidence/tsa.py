"""A local RFC 3161 time-stamping authority for tests: a test CA and a TSA certificate (extended key
usage timeStamping, critical) made with ``cryptography``, and ``openssl ts -reply`` behind a small
``http.server`` handler on a real socket. ``Tsa.stop()`` takes it down (a TSA that is unreachable)."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OPENSSL_CONF = """\
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/chain.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_pki(directory: Path, *, ca_name: str = "collector test CA") -> Path:
    """A CA and a TSA certificate it issued, with the openssl configuration, in ``directory``; the
    path of the CA certificate (PEM)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name(ca_name)).issuer_name(_name(ca_name))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (x509.CertificateBuilder().subject_name(_name("collector test TSA")).issuer_name(ca.subject)
           .public_key(tsa_key.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
           .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                        key_encipherment=False, data_encipherment=False,
                                        key_agreement=False, key_cert_sign=False, crl_sign=False,
                                        encipher_only=False, decipher_only=False), critical=True)
           .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "tsa.pem").write_bytes(tsa.public_bytes(pem))
    (directory / "chain.pem").write_bytes(tsa.public_bytes(pem))
    (directory / "tsa.key").write_bytes(tsa_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (directory / "serial").write_text("01\n")
    (directory / "openssl.cnf").write_text(OPENSSL_CONF.format(dir=directory))
    return directory / "ca.pem"


@dataclass
class Tsa:
    """A running local TSA: ``url`` to POST requests to, ``ca`` its CA certificate (PEM file)."""

    url: str
    ca: Path
    directory: Path
    requests: list[bytes] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None

    def stop(self) -> None:
        """Close the socket: the TSA is unreachable from now on."""
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


def start_tsa(directory: Path) -> Tsa:
    """Make the PKI in ``directory`` and serve ``openssl ts -reply`` on 127.0.0.1 (a free port)."""
    ca = make_pki(directory)
    state = Tsa(url="", ca=ca, directory=directory)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.requests.append(query)
            with tempfile.TemporaryDirectory(dir=directory) as tmp:
                (Path(tmp) / "q.tsq").write_bytes(query)
                done = subprocess.run(
                    ["openssl", "ts", "-reply", "-config", str(directory / "openssl.cnf"),
                     "-queryfile", str(Path(tmp) / "q.tsq"), "-out", str(Path(tmp) / "r.tsr")],
                    capture_output=True)
                if done.returncode != 0:
                    self.send_error(500, done.stderr.decode("utf-8", "replace")[:200])
                    return
                body = (Path(tmp) / "r.tsr").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    state.httpd = httpd
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/tsa"
    return state
