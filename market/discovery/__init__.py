"""Discovery: full-text search over tasks and solvers, matching both ways, saved searches.

The search engine sits behind the `search` port; `factory.py` is the only module of
`market` that names an adapter. The index is derived data: `documents.py` maps rows to
documents, `tasks.py` keeps the index current from outbox events (the API never waits on
it), and `DiscoveryService.reindex` rebuilds it from the database (`market search reindex`).
"""
