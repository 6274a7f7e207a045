"""The cache's schema and its version."""

from __future__ import annotations

SCHEMA_VERSION = 2


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL COLLATE NOCASE UNIQUE,
    ts INTEGER NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    source TEXT NOT NULL COLLATE NOCASE,
    region TEXT NOT NULL COLLATE NOCASE,
    account TEXT NOT NULL COLLATE NOCASE,
    principal TEXT NOT NULL COLLATE NOCASE,
    principal_type TEXT NOT NULL COLLATE NOCASE,
    principal_arn TEXT NOT NULL COLLATE NOCASE,
    user_name TEXT NOT NULL COLLATE NOCASE,
    session_name TEXT NOT NULL COLLATE NOCASE,
    lookup_username TEXT NOT NULL COLLATE NOCASE,
    access_key TEXT NOT NULL COLLATE NOCASE,
    invoked_by TEXT NOT NULL COLLATE NOCASE,
    source_identity TEXT NOT NULL COLLATE NOCASE,
    source_ip TEXT NOT NULL COLLATE NOCASE,
    ip_v4 INTEGER,
    user_agent TEXT NOT NULL COLLATE NOCASE,
    error_code TEXT NOT NULL COLLATE NOCASE,
    error_message TEXT NOT NULL,
    read_only INTEGER,
    event_type TEXT NOT NULL COLLATE NOCASE,
    category TEXT NOT NULL COLLATE NOCASE,
    resources TEXT NOT NULL,
    raw BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_name ON events (name, ts);
CREATE INDEX IF NOT EXISTS events_key ON events (access_key);
CREATE INDEX IF NOT EXISTS events_ip ON events (source_ip);
CREATE INDEX IF NOT EXISTS events_ipv4 ON events (ip_v4) WHERE ip_v4 IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_user ON events (user_name);
CREATE INDEX IF NOT EXISTS events_session ON events (session_name);
CREATE TABLE IF NOT EXISTS resources (
    event INTEGER NOT NULL,
    type TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE
);
CREATE INDEX IF NOT EXISTS resources_name ON resources (name);
CREATE INDEX IF NOT EXISTS resources_event ON resources (event);
CREATE TABLE IF NOT EXISTS issued_keys (
    access_key TEXT NOT NULL COLLATE NOCASE,
    event INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS issued_keys_key ON issued_keys (access_key);
CREATE TABLE IF NOT EXISTS origins (
    id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS origins_kind ON origins (kind);
CREATE TABLE IF NOT EXISTS event_origins (
    event INTEGER NOT NULL,
    origin INTEGER NOT NULL,
    PRIMARY KEY (event, origin)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    uri TEXT PRIMARY KEY,
    size INTEGER,
    mtime_ns INTEGER,
    etag TEXT,
    events INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    error TEXT NOT NULL,
    ingested_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rejects (
    uri TEXT NOT NULL,
    location TEXT NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS coverage (
    source TEXT NOT NULL,
    filter_key TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    next_token TEXT,
    updated INTEGER NOT NULL,
    PRIMARY KEY (source, filter_key, start, end)
);
"""


LIST_COLUMNS = (
    "e.id, e.event_id, e.ts, e.name, e.principal, e.source_ip, e.region, e.resources, "
    "e.error_code, e.read_only, e.source, e.account"
)
