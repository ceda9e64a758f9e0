"""The database: engine, schema and migrations, one store module per concern, the writer."""
