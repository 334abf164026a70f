"""``collector evidence`` and ``collector evidence verify`` on a real capture: the package, its
verification with the exported public key (text and --json), exit codes on tampering and on errors."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.collector.cli.test_ledger import as_json, run


def test_evidence_package_and_verify(server: str, home: Path, tmp_path: Path) -> None:
    url = server + "/page/ev1"
    no_key = run(home, "evidence", url, "-o", str(tmp_path / "none.wacz"))
    assert no_key.returncode == 2 and "collector key create" in no_key.stderr
    assert run(home, "key", "create").returncode == 0
    assert run(home, "capture", "--allow-private", url, server + "/page/ev2").returncode == 0
    out = tmp_path / "ev1.wacz"
    made = run(home, "evidence", url, "-o", str(out), "--json")
    assert made.returncode == 0, made.stderr
    summary = as_json(made)
    assert summary["captures"] == 1 and summary["bytes"] == out.stat().st_size
    assert not out.with_name(out.name + ".part").exists()
    public = tmp_path / "archive.pub"
    public.write_text(run(home, "key", "export-public").stdout)
    verified = run(home, "evidence", "verify", str(out), "--key", str(public), "--json")
    assert verified.returncode == 0, verified.stdout
    report = as_json(verified)
    assert report["ok"] and report["key_trusted"]
    assert (report["signature_form"], report["wacz_signer"]) == ("ecdsa", summary["wacz_key_fingerprint"])
    assert [c["url"] for c in report["captures"]] == [url]
    assert report["captures"][0]["signer"] == summary["key_fingerprint"]
    assert report["captures"][0]["text_sha256"]  # the extracted text is proved too
    text = run(home, "evidence", "verify", str(out), "--key", str(public))
    assert text.returncode == 0 and f"proved: {url} captured " in text.stdout
    assert f"package signature: ECDSA by WACZ key {summary['wacz_key_fingerprint']}" in text.stdout
    # another archive's public keys (both of them) are not this package's
    other_home = tmp_path / "other"
    assert run(other_home, "key", "create").returncode == 0
    other = tmp_path / "other.pub"
    other.write_text(run(other_home, "key", "export-public").stdout)
    foreign = run(home, "evidence", "verify", str(out), "--key", str(other), "--json")
    assert foreign.returncode == 1 and {p["kind"] for p in as_json(foreign)["problems"]} == {"foreign-key"}
    # the same package with a changed pages.jsonl
    tampered = tmp_path / "tampered.wacz"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, data.replace(b"ev1", b"ev3") if "pages" in info.filename
                         else data)
    bad = run(home, "evidence", "verify", str(tampered), "--key", str(public), "--json")
    assert bad.returncode == 1
    assert {p["kind"] for p in as_json(bad)["problems"]} == {"file-digest"}


def test_evidence_errors_name_the_input(home: Path, tmp_path: Path) -> None:
    assert run(home, "key", "create").returncode == 0
    missing = run(home, "evidence", "https://example.org/never", "-o", str(tmp_path / "x.wacz"))
    assert missing.returncode == 1 and "https://example.org/never" in missing.stderr
    assert not (tmp_path / "x.wacz").exists()
    neither = run(home, "evidence", "-o", str(tmp_path / "x.wacz"))
    assert neither.returncode == 2 and "either a URL or --report" in neither.stderr
    not_zip = tmp_path / "not.wacz"
    not_zip.write_bytes(b"hello")
    proc = run(home, "evidence", "verify", str(not_zip))
    assert proc.returncode == 2 and "not a WACZ" in proc.stderr


def test_a_home_from_before_the_wacz_key_gets_one_with_its_first_package(server: str, home: Path,
                                                                         tmp_path: Path) -> None:
    url = server + "/page/ev4"
    assert run(home, "key", "create").returncode == 0
    (home / "wacz-signing-key.pem").unlink()  # as a home made before the WACZ key
    shown = as_json(run(home, "key", "show", "--json"))
    assert shown["wacz"] is None
    assert run(home, "capture", "--allow-private", url).returncode == 0
    made = run(home, "evidence", url, "-o", str(tmp_path / "ev4.wacz"))
    assert made.returncode == 0, made.stderr
    assert "made the WACZ signing key" in made.stdout
    shown = as_json(run(home, "key", "show", "--json"))
    assert shown["wacz"]["fingerprint"] in made.stdout
    again = run(home, "evidence", url, "-o", str(tmp_path / "ev4b.wacz"))
    assert again.returncode == 0 and "made the WACZ signing key" not in again.stdout
