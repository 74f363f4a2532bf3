"""Named migration sets sharing one SQLite file, through sqlite-utils' own `Migrations`.

Each owner of tables keeps its own set (`Migrations("documents")` in schema.py, the application's question
log and escalations in bot/), registered by decorator; sqlite-utils records which ran, per set, in
`_sqlite_migrations`, so two owners never collide and either can evolve without the other.

What this module adds is the upgrade path of stores made before: releases up to 0.2 recorded the same sets
in a hand-written `_migrations` table (same set and migration names), and v0.1 one global numbered sequence
in `migrations` (dropped by the documents set's second migration). `adopt_migrations` moves the records of
`_migrations` over once, so an existing store keeps its history and every migration stays IF NOT EXISTS-safe.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

LEGACY_TABLE = "_migrations"


def adopt_migrations(db: sqlite_utils.Database) -> int:
    """Move the records of the hand-written `_migrations` table into sqlite-utils' table; returns how many.

    The caller holds the write transaction."""
    if not db[LEGACY_TABLE].exists():
        return 0
    table = Migrations.migrations_table
    Migrations(LEGACY_TABLE).ensure_migrations_table(db)
    rows = db.execute(f"SELECT migration_set, name, applied_at FROM {LEGACY_TABLE} ORDER BY id").fetchall()
    db.conn.executemany(f"INSERT OR IGNORE INTO {table} (migration_set, name, applied_at) VALUES (?, ?, ?)", rows)
    db.execute(f"DROP TABLE {LEGACY_TABLE}")
    return len(rows)


def apply_migrations(db: sqlite_utils.Database, migrations: Migrations) -> list[str]:
    """Adopt legacy records, then run the set's pending migrations; returns the names that ran. The caller holds
    the write transaction (each migration runs in a savepoint inside it)."""
    adopt_migrations(db)
    pending = [migration.name for migration in migrations.pending(db)]
    migrations.apply(db)
    return pending


def applied_names(db: sqlite_utils.Database, migrations: Migrations) -> list[str]:
    return [migration.name for migration in migrations.applied(db)]


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Statement by statement: executescript() would COMMIT the migration's transaction early."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)
