"""The SQLite cache every source lands in: schema, codec (how raw records are kept), ingest,
queries, facets and coverage."""
