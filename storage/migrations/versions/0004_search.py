"""Full-text search over extracted texts, and API tokens for the HTTP server's write endpoints.

``search_documents`` holds one row per distinct extracted text of a URL (canonical key + text sha256), so
revisits and re-extractions of the same text are indexed once. The full-text index is dialect-specific:

- SQLite: an FTS5 virtual table ``search_fts`` over (title, text) with ``search_documents`` as its
  external content, kept in sync by triggers (unicode61 tokenizer, diacritics folded).
- PostgreSQL: a generated ``tsvector`` column ``tsv`` (``simple`` configuration, no stemming, like the
  SQLite tokenizer) with a GIN index.

``api_tokens`` stores only the sha256 of each bearer token.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: PostgreSQL refuses a tsvector over 1 MB; index at most this many characters of a text.
PG_INDEXED_CHARS = 300_000

_SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, text, content='search_documents', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); END",
]
_POSTGRES = [
    "ALTER TABLE search_documents ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
    "(setweight(to_tsvector('simple', coalesce(title, '')), 'A') || "
    f"to_tsvector('simple', left(coalesce(text, ''), {PG_INDEXED_CHARS}))) STORED",
    "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)",
]


def upgrade() -> None:
    """Create search_documents with its full-text index, and api_tokens."""
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("captures.id"), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_key", sa.Text, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("uq_search_documents_key_text", "search_documents", ["url_key", "text_sha256"],
                    unique=True)
    op.create_index("ix_search_documents_host", "search_documents", ["host"])
    op.create_index("ix_search_documents_time", "search_documents", ["captured_at"])
    statements = _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE
    for statement in statements:
        op.execute(statement)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=False)),
    )


def downgrade() -> None:
    """Drop the tables (and, on SQLite, the FTS5 table and its triggers)."""
    op.drop_table("api_tokens")
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS search_documents_ai")
        op.execute("DROP TRIGGER IF EXISTS search_documents_ad")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_index("uq_search_documents_key_text", "search_documents")
    op.drop_index("ix_search_documents_time", "search_documents")
    op.drop_index("ix_search_documents_host", "search_documents")
    op.drop_table("search_documents")
