"""The SQLite store, the source of truth: documents, chunks, vectors and the FTS5 index (database.py), the
library's migration set (schema.py, through migrations.py), and the consistency check and repair
(consistency.py)."""
