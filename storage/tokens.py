"""Bearer tokens for the HTTP server's write endpoints. Only a token's sha256 is stored; the token itself
is shown once, when it is created."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import NoTokenError, StorageError
from storage.models import ApiToken
from storage.timefmt import iso_z

__all__ = ["TOKEN_PREFIX", "NoTokenError", "TokenRecord", "active_token", "create_token", "list_tokens",
           "revoke_token", "verify_token"]

TOKEN_PREFIX = "col_"



@dataclass(frozen=True, kw_only=True)
class TokenRecord:
    """One token (without its secret)."""

    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None

    def to_json(self) -> dict[str, object]:
        """Plain JSON."""
        return {"id": self.id, "name": self.name, "created_at": iso_z(self.created_at),
                "revoked_at": iso_z(self.revoked_at), "active": self.revoked_at is None}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _record(row: ApiToken) -> TokenRecord:
    return TokenRecord(id=row.id, name=row.name, created_at=row.created_at, revoked_at=row.revoked_at)


def create_token(sessions: sessionmaker[Session], name: str, *, now: datetime) -> tuple[str, TokenRecord]:
    """Create a token named ``name``; returns (the secret token, its record). The secret is not stored."""
    if not name.strip():
        raise StorageError("a token needs a name (who or what uses it)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with sessions() as session, session.begin():
        row = ApiToken(name=name.strip(), token_sha256=_digest(token), created_at=now)
        session.add(row)
        session.flush()
        return token, _record(row)


def verify_token(sessions: sessionmaker[Session], token: str) -> TokenRecord | None:
    """The active token matching ``token``, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = _digest(token)
    with sessions() as session:
        row = session.execute(select(ApiToken).where(ApiToken.token_sha256 == digest)).scalar_one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        if not secrets.compare_digest(row.token_sha256, digest):  # pragma: no cover - belt and braces
            return None
        return _record(row)


def active_token(sessions: sessionmaker[Session], token_id: int) -> TokenRecord | None:
    """The token with this id while it is not revoked (a web session lives only as long as its token)."""
    with sessions() as session:
        row = session.get(ApiToken, token_id)
        return None if row is None or row.revoked_at is not None else _record(row)


def list_tokens(sessions: sessionmaker[Session]) -> list[TokenRecord]:
    """Every token, oldest first (revoked ones too)."""
    with sessions() as session:
        return [_record(r) for r in session.execute(select(ApiToken).order_by(ApiToken.id)).scalars()]


def revoke_token(sessions: sessionmaker[Session], token_id: int, *, now: datetime) -> TokenRecord:
    """Revoke the token with this id (revoking twice keeps the first time)."""
    with sessions() as session, session.begin():
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NoTokenError(f"no token with id {token_id} (see `collector token list`)")
        if row.revoked_at is None:
            row.revoked_at = now
        session.flush()
        return _record(row)
