"""The chat server: `create_app(settings)` builds it, `runner` runs it.

Areas, each a package: `http/` (REST edge and routes), `realtime/` (the /chat namespace and
the socket server), `wire/` (the shapes on the wire: request validation and rendering),
`data/` (database, store, writer, migrations), `notify/` (offline email). See
docs/architecture.md for which may import which.
"""
