"""The cache's layout (version 6) and its version check.

An event is a narrow row of small integers: its time, where its raw record lives (a line of a
compressed chunk), and ids into dictionary tables that hold each distinct value once (event
kinds, principals, regions, accounts, keys, IPs, agents, error codes, resource names and
types). Only the time is indexed. The eventID has a table of its own (key -> event), written in
key order: an index on the random keys of UUIDs written in event order touched a page of its
own per event, and a write slowed down as the cache grew. The chunks holding each dictionary
value are listed (postings: a few entries per chunk), so a rare value reads only those chunks'
rows; a common one is scanned (a few hundred ms over a million rows) or answered from the small
dictionaries. Raw records are kept exactly (secrets redacted), one zstd frame per source file
or page: see codec.py. What a tampering call acted on (its request's trail, key, detector...)
is kept as it is ingested (``tampering``: a row per call of records/tampering.py's CALLS), so
the warning every query says first reads no record.
"""

from __future__ import annotations

SCHEMA_VERSION = 6  # 6: the tampering table; 5: the eids table (4: an index on events.eid);
# 4: postings (3 had none)

# dictionary tables: name -> value columns (each distinct tuple once; `id` is what events hold)
DICTS: dict[str, tuple[str, ...]] = {
    "kinds": ("name", "source", "event_type", "category", "read_only"),
    "principals": (
        "display",
        "type",
        "arn",
        "user_name",
        "session_name",
        "lookup_username",
        "invoked_by",
        "source_identity",
    ),
    "errors": ("code",),
    "regions": ("s",),
    "accounts": ("s",),
    "access_keys": ("s",),
    "ips": ("s",),  # plus v4: the integer of a dotted IPv4 address, for CIDR ranges
    "agents": ("s",),
    "rnames": ("s",),
    "rtypes": ("s",),
}

# the dictionary-coded columns of `events`, in row order, and the table each points into
EVENT_DICTS: dict[str, str] = {
    "kind": "kinds",
    "region": "regions",
    "account": "accounts",
    "principal": "principals",
    "access_key": "access_keys",
    "ip": "ips",
    "agent": "agents",
    "error": "errors",
}

# postings: which chunks hold an event with a given value of these columns (the column's
# number here, the value's id, the chunk), a few entries per chunk: a filter on a rare value
# (an IP, a key, a principal, an event name) reads only the chunks' rows that may hold it
POSTED: tuple[str, ...] = tuple(EVENT_DICTS)
# the dedupe key (one event per eventID, whatever gave it) and the way to an event by eventID
EIDS = (
    "CREATE TABLE IF NOT EXISTS eids (eid BLOB PRIMARY KEY, event INTEGER NOT NULL) "
    "WITHOUT ROWID;\n"
)
# the calls of records/tampering.py's CALLS, each with what it acted on ('' when unknown) and
# its time (the warning walks the newest first)
TAMPERING = (
    "CREATE TABLE IF NOT EXISTS tampering (event INTEGER PRIMARY KEY, ts INTEGER NOT NULL, "
    "target TEXT NOT NULL);\nCREATE INDEX IF NOT EXISTS tampering_ts ON tampering (ts);\n"
)
POSTINGS = (
    "CREATE TABLE IF NOT EXISTS postings (col INTEGER NOT NULL, value INTEGER NOT NULL, "
    "chunk INTEGER NOT NULL, PRIMARY KEY (col, value, chunk)) WITHOUT ROWID;"
)


def _dict_ddl(table: str, cols: tuple[str, ...]) -> str:
    defs = ", ".join(f"{c} INTEGER" if c == "read_only" else f"{c} TEXT NOT NULL" for c in cols)
    extra = ", v4 INTEGER" if table == "ips" else ""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, {defs}{extra}, "
        f"UNIQUE ({', '.join(cols)}));\n"
    )


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);\n"
    + "".join(_dict_ddl(t, c) for t, c in DICTS.items())
    + """
-- where events came from: files, objects, LookupEvents targets, the demo ('origins'), and
-- roots (a folder, a trail location) that hold many of them
CREATE TABLE IF NOT EXISTS origins (
    id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS origins_kind ON origins (kind);
CREATE TABLE IF NOT EXISTS origin_roots (
    root INTEGER NOT NULL,
    origin INTEGER NOT NULL,
    PRIMARY KEY (root, origin)
) WITHOUT ROWID;
-- what was read of a file or object (skipped next time if unchanged)
CREATE TABLE IF NOT EXISTS files (
    origin INTEGER PRIMARY KEY,
    size INTEGER,
    mtime_ns INTEGER,
    etag TEXT,
    events INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    error TEXT NOT NULL,
    ingested_at INTEGER NOT NULL
);
-- one row per file or object that lost records (or was unreadable), saying how many and why
CREATE TABLE IF NOT EXISTS rejects (
    uri TEXT NOT NULL,
    location TEXT NOT NULL,
    reason TEXT NOT NULL,
    lost INTEGER NOT NULL,
    at INTEGER NOT NULL
);
-- raw records: line `idx` of the zstd frame in blobs is the record of the event (chunk, idx)
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    origin INTEGER NOT NULL,
    n INTEGER NOT NULL,
    t_min INTEGER NOT NULL,
    t_max INTEGER NOT NULL,
    first_event INTEGER NOT NULL,  -- its events have ids from here (fewer than n: duplicates)
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (chunk INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    eid BLOB NOT NULL,  -- the eventID as a key: 16 bytes for a UUID, else its ASCII-folded text
    eid_text TEXT,  -- the eventID as written, when the key does not give it back
    ts INTEGER NOT NULL,  -- eventTime, ms
    chunk INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    region INTEGER NOT NULL,
    account INTEGER NOT NULL,
    principal INTEGER NOT NULL,
    access_key INTEGER NOT NULL,
    ip INTEGER NOT NULL,
    agent INTEGER NOT NULL,
    error INTEGER NOT NULL
);
"""
    + EIDS
    + """CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE TABLE IF NOT EXISTS resources (
    event INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    name INTEGER NOT NULL,
    type INTEGER NOT NULL,
    PRIMARY KEY (event, pos)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS resources_name ON resources (name);
-- STS calls: the access key their credentials carry (who assumed what)
CREATE TABLE IF NOT EXISTS issued_keys (
    access_key INTEGER NOT NULL,
    event INTEGER NOT NULL,
    PRIMARY KEY (access_key, event)
) WITHOUT ROWID;
-- an event's first origin is its chunk's; any other origin that gave it again is here
CREATE TABLE IF NOT EXISTS extra_origins (
    event INTEGER NOT NULL,
    origin INTEGER NOT NULL,
    PRIMARY KEY (event, origin)
) WITHOUT ROWID;
"""
    + POSTINGS
    + TAMPERING
    + """
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
)

# the table whose presence says the schema is complete (created last)
NEWEST_TABLE = "coverage"
