"""Write endpoints need a bearer token from `collector token create`; reads never do."""

from __future__ import annotations

import json
from pathlib import Path

from collector.server import ServerContext
from storage.database import connect
from tests.collector.cli.test_cli import lines, no_traceback, run
from tests.collector.server.helpers import fetch, running
from tests.conftest import make_config


def post(url: str, body: object, token: str | None = None) -> tuple[int, dict[str, str], dict[str, object]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    reply = fetch(url, method="POST", headers=headers, body=json.dumps(body).encode())
    return reply.status, reply.headers, json.loads(reply.body or b"{}")


def new_token(home: Path, name: str = "tester") -> dict[str, object]:
    proc = run(home, "token", "create", "--name", name, "--json")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr.decode()
    return lines(proc)[0]


def test_writes_need_a_valid_token(server: str, home: Path) -> None:
    created = new_token(home)
    token = str(created["token"])
    assert token.startswith("col_")
    listed = lines(run(home, "token", "list", "--json"))
    assert [t["name"] for t in listed] == ["tester"] and "token" not in listed[0]
    config = make_config(home)
    with running(ServerContext(config=config, sessions=connect(config.db_url))) as base:
        target = server + "/page/written-over-http"
        status, headers, body = post(base + "/api/captures", {"urls": [target]})
        assert status == 401 and headers["www-authenticate"].startswith("Bearer")
        assert post(base + "/api/captures", {"urls": [target]}, token + "x")[0] == 401
        assert post(base + "/api/captures", {"urls": [target]}, "")[0] == 401
        assert fetch(f"{base}/timegate/{target}").status == 404  # nothing was written
        status, _, body = post(base + "/api/captures", {"urls": [target]}, token)
        assert status == 201, body
        [result] = body["results"]  # type: ignore[misc]
        assert result["outcome"] == "captured" and result["http_status"] == 200
        assert fetch(f"{base}/timegate/{target}").status == 302
        assert post(base + "/api/captures", {"urls": "not a list"}, token)[0] == 400
        assert post(base + "/api/reports", {"url": "/etc/passwd"}, token)[0] == 400
        assert post(base + "/api/reports/nope/links", {"ref": "1", "url": "https://a.test/"}, token)[0] == 404
        assert fetch(base + "/api/captures").status == 405
        revoked = run(home, "token", "revoke", str(created["id"]))
        assert revoked.returncode == 0
        assert post(base + "/api/captures", {"urls": [target]}, token)[0] == 401


def test_read_only_server_refuses_even_a_valid_token(home: Path) -> None:
    token = str(new_token(home)["token"])
    config = make_config(home)
    ctx = ServerContext(config=config, sessions=connect(config.db_url), read_only=True)
    with running(ctx) as base:
        status, headers, _ = post(base + "/api/captures", {"urls": ["https://a.test/"]}, token)
        assert status == 403 and headers["x-read-only"] == "true"
        assert fetch(base + "/").status == 200


def test_revoking_an_unknown_token_fails(home: Path) -> None:
    proc = run(home, "token", "revoke", "42")
    no_traceback(proc)
    assert proc.returncode == 1 and b"no token with id 42" in proc.stderr
