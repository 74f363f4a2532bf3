"""Named sets of numbered schema migrations sharing one SQLite file (the sqlite-migrate idea).

Each owner of tables keeps its own set: the library's `documents` set (index/store.py) and the
application's `questionlog` set (bot/). A set's migrations are numbered from 1, appended and never
edited once released; which ones ran is recorded per set in `_migrations`, so two owners never
collide on a number and either can evolve without the other.

Databases made before the sets existed recorded one global sequence in a table `migrations`
(1 = documents, 2 and 3 = the question log). Every migration is written with IF NOT EXISTS, so on such
a database the first run of each set finds its tables in place, records itself, and loses nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]

TABLE = "_migrations"


@dataclass
class MigrationSet:
    """An owner's migrations, registered in order with the decorator: `@migrations()`."""

    name: str
    steps: list[tuple[str, Migration]] = field(default_factory=list)

    def __call__(self, name: str | None = None) -> Callable[[Migration], Migration]:
        def register(fn: Migration) -> Migration:
            self.steps.append((name or fn.__name__, fn))
            return fn

        return register

    def applied(self, db: sqlite_utils.Database) -> list[str]:
        ensure_table(db)
        rows = db.execute(f"SELECT name FROM {TABLE} WHERE migration_set = ? ORDER BY id", [self.name]).fetchall()
        return [r[0] for r in rows]

    def pending(self, db: sqlite_utils.Database) -> list[str]:
        done = set(self.applied(db))
        return [name for name, _ in self.steps if name not in done]

    def apply(self, db: sqlite_utils.Database) -> list[str]:
        """Run the migrations this database lacks, in order; the caller holds the write transaction."""
        done = set(self.applied(db))
        ran = []
        for name, migration in self.steps:
            if name in done:
                continue
            migration(db)
            db.execute(
                f"INSERT INTO {TABLE} (migration_set, name, applied_at) VALUES (?, ?, ?)",
                [self.name, name, _now()],
            )
            ran.append(name)
        return ran


def ensure_table(db: sqlite_utils.Database) -> None:
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS {TABLE} (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            migration_set TEXT NOT NULL,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL,
            UNIQUE (migration_set, name)
        )"""
    )


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Statement by statement: executescript() would COMMIT the migration's transaction early."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
