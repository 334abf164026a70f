"""Search texts stored once, compressed, on SQLite (issue 18).

``search_documents.text`` becomes a zlib stream (see ``storage.packedtext``): the plain copy of every
extracted text was the largest part of an SQLite archive. The FTS5 table ``search_fts`` now reads its
external content through the view ``search_texts`` (``collector_inflate(text)``), its triggers index
the inflated text, and it is rebuilt from the view once. Existing rows are compressed in batches.
PostgreSQL is unchanged (its generated ``tsvector`` needs the plain text).

Revision ID: 0022
Revises: 0021 (the integrator re-chains)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.packedtext import INFLATE, deflate_text, inflate_text, register_text_functions

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"
_BATCH = 500


def _fts(content: str, value: str) -> list[str]:
    """The FTS5 table over ``content`` and its triggers, ``value`` the SQL of a row's text."""
    return [
        f"CREATE VIRTUAL TABLE search_fts USING fts5(title, text, content='{content}', "
        f"content_rowid='id', {_TOKENIZE})",
        "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
        f"INSERT INTO search_fts(rowid, title, text) VALUES (new.id, new.title, {value % 'new'}); END",
        "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
        "INSERT INTO search_fts(search_fts, rowid, title, text) "
        f"VALUES ('delete', old.id, old.title, {value % 'old'}); END",
        "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
    ]


def _drop_fts() -> None:
    op.execute("DROP TRIGGER IF EXISTS search_documents_ai")
    op.execute("DROP TRIGGER IF EXISTS search_documents_ad")
    op.execute("DROP TABLE IF EXISTS search_fts")


def _convert(packed: bool) -> None:
    """Rewrite every text that is not yet in the wanted form (``packed``: a zlib BLOB), by batches."""
    bind = op.get_bind()
    kind = "text" if packed else "blob"
    last = 0
    while True:
        rows = bind.execute(sa.text(
            "SELECT id, text FROM search_documents WHERE id > :last AND typeof(text) = :kind "
            "ORDER BY id LIMIT :n"), {"last": last, "kind": kind, "n": _BATCH}).all()
        if not rows:
            return
        bind.execute(sa.text("UPDATE search_documents SET text = :text WHERE id = :id"),
                     [{"id": i, "text": deflate_text(t) if packed else inflate_text(t)}
                      for i, t in rows])
        last = rows[-1][0]


def upgrade() -> None:
    """Compress the texts; index them through the ``search_texts`` view (SQLite only)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    register_text_functions(bind.connection.dbapi_connection)
    _drop_fts()
    _convert(packed=True)
    op.execute("DROP VIEW IF EXISTS search_texts")
    op.execute(f"CREATE VIEW search_texts AS SELECT id, title, {INFLATE}(text) AS text "
               "FROM search_documents")
    for statement in _fts("search_texts", f"{INFLATE}(%s.text)"):
        op.execute(statement)


def downgrade() -> None:
    """Plain texts again, indexed from ``search_documents`` itself (SQLite only)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    register_text_functions(bind.connection.dbapi_connection)
    _drop_fts()
    op.execute("DROP VIEW IF EXISTS search_texts")
    _convert(packed=False)
    for statement in _fts("search_documents", "%s.text"):
        op.execute(statement)
