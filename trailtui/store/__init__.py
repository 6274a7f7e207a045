"""The SQLite cache every source lands in. ``store.Store`` is the facade; the parts: db
(connections), schema + migrate (layout, version, v2 conversion), batch + parse + ingest (the
parse processes and the writer), queries + words + chunks (reading, free words over the raw chunks),
facets, origins (sources and scopes), coverage, codec (chunk compression, eventID keys)."""
