"""The filter language: parse -> Filter (language), the local matcher (match), and its
compilers to the backends: the cache's SQL (sql), LookupEvents (lookup), CloudWatch Logs JSON
filter patterns (logs)."""
