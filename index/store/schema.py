"""The store's schema: one migration per version, applied in order (``PRAGMA user_version`` says which
have run), so a database made by any earlier newsbot is brought up to date and none is ever rebuilt.

Paragraph tokens are kept as term ids (``uint32``, in order) so that an index generation can be
rebuilt from the store without reading the article files or tokenizing again.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        text_hash TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        date TEXT,
        source TEXT,
        url TEXT,
        title_terms BLOB NOT NULL,
        paragraphs INTEGER NOT NULL,
        indexed_at TEXT NOT NULL
    );
    CREATE INDEX articles_by_date ON articles(date);
    CREATE TABLE paragraphs (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        text TEXT NOT NULL,
        terms BLOB NOT NULL,
        UNIQUE (article_id, position)
    );
    CREATE TABLE files (
        root TEXT NOT NULL,
        rel TEXT NOT NULL,
        unit TEXT NOT NULL,
        stamp TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id),
        PRIMARY KEY (root, rel)
    );
    CREATE INDEX files_by_article ON files(article_id);
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY,
        asked_at TEXT NOT NULL,
        question TEXT NOT NULL,
        user_id INTEGER,
        guild_id INTEGER,
        hits INTEGER NOT NULL
    );
    CREATE TABLE feedback (
        question_id INTEGER NOT NULL REFERENCES questions(id),
        user_id INTEGER NOT NULL,
        value INTEGER NOT NULL CHECK (value IN (-1, 1)),
        at TEXT NOT NULL,
        PRIMARY KEY (question_id, user_id)
    );
    """,
    # 2: following new stories (index/follow.py). ``arrivals`` numbers each distinct article text in
    # the order it was first stored, by whichever process stored it (a trigger keeps it, so it never
    # misses a reindex; a text stored again keeps its number). ``follows`` holds each server's channel,
    # topic and the last arrival it has seen; ``announced`` what each channel has been shown.
    """
    CREATE TABLE arrivals (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        text_key TEXT NOT NULL UNIQUE,
        article_id INTEGER NOT NULL
    );
    INSERT INTO arrivals(text_key, article_id) SELECT substr(text_hash, 1, 16), id FROM articles ORDER BY id;
    CREATE TRIGGER articles_arrive AFTER INSERT ON articles BEGIN
        UPDATE arrivals SET article_id = NEW.id WHERE text_key = substr(NEW.text_hash, 1, 16);
        INSERT OR IGNORE INTO arrivals(text_key, article_id) VALUES (substr(NEW.text_hash, 1, 16), NEW.id);
    END;
    CREATE TABLE follows (
        guild_id INTEGER PRIMARY KEY,
        channel_id INTEGER NOT NULL,
        topic TEXT,
        created_at TEXT NOT NULL,
        since_seq INTEGER NOT NULL
    );
    CREATE TABLE announced (
        channel_id INTEGER NOT NULL,
        story_key TEXT NOT NULL,
        article_id INTEGER NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (channel_id, story_key)
    ) WITHOUT ROWID;
    """,
    # 3: a paragraph's flags (FLAG_JUNK: byline, caption, sign-up line) are kept with it, so that a
    # reindex need not read every paragraph's text again; NULL until computed for older rows.
    """
    ALTER TABLE paragraphs ADD COLUMN flags INTEGER;
    """,
    # 4: followed feeds (index/store/feedbook.py). ``feeds`` holds those added from the terminal or
    # Discord (the settings file's [[feeds]] are read from there); ``feed_states`` every followed feed's
    # fetch state (validators, failures, back-off) as FeedState JSON, settings-file feeds included.
    """
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        source TEXT NOT NULL DEFAULT '',
        folder TEXT NOT NULL DEFAULT '',
        full_text INTEGER NOT NULL DEFAULT 1,
        added_at TEXT NOT NULL,
        added_by TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE feed_states (url TEXT PRIMARY KEY, state TEXT NOT NULL, saved_at TEXT NOT NULL);
    """,
    # 5: a shard of a cluster remembers the files whose articles all went to other shards, with their
    # stamp, so that it reads them again only when they change (index/ingest/elsewhere.py)
    """
    CREATE TABLE units_elsewhere (
        root TEXT NOT NULL,
        unit TEXT NOT NULL,
        stamp TEXT NOT NULL,
        PRIMARY KEY (root, unit)
    ) WITHOUT ROWID;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

# the tables of schema 1: a database holding other tables and not these is someone else's
NEWSBOT_TABLES = frozenset({"meta", "terms", "articles", "paragraphs", "files", "questions", "feedback"})


def statements(script: str) -> list[str]:
    """The statements of ``script`` (a trigger's body keeps its own semicolons)."""
    out: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n;"):
                out.append(current.strip().rstrip(";"))
            current = ""
    if current.strip(" \n;"):
        out.append(current.strip().rstrip(";"))
    return out
