"""What every `investbot` command checks before it works, each failure one line saying what to do.

A deployment meets these first: a data volume its user cannot write (a bind mount keeps the host folder's
owner), a bot started without its token, a question asked of an empty store, a model that does not load.
Each is found here, before any traceback can happen, and ends the command with exit status 1 (2 for a
setting that is not understood) and one line on stderr: no stack trace, no "unable to open database file".
The checks live in one place so every command words them the same way; `investbot health` reuses them.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.settings import Settings

if TYPE_CHECKING:
    from index import Engine, Store

DB_FILENAME = "investbot.db"  # index.store.database.DB_FILENAME (imported lazily there; kept in step by a test)
EMPTY_STORE = "The knowledge base is empty: run `investbot ingest PATH` (or `investbot run`, which indexes knowledge/)"


class StartupError(click.ClickException):
    """A command that cannot start: one line, exit status 1 (2 for a setting that is not understood)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares a class-wide default

    def show(self, file=None) -> None:
        click.echo(f"Error: {self.message}", err=True)


def _uid() -> str:
    getuid = getattr(os, "getuid", None)  # absent on Windows
    return f"uid {getuid()}" if getuid is not None else "this user"


def unwritable(path: Path) -> StartupError:
    return StartupError(
        f"Cannot write the data directory {path} ({_uid()}): mount a volume this user owns, run with "
        f"--user as the folder's owner, or `chown` it to this user (or choose another with --data-dir / "
        "INVESTBOT_DATA_DIR)"
    )


def check_data_dir(path: Path) -> None:
    """The data directory exists (made if need be) and this user can write it and the database in it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise unwritable(path) from None
    if not path.is_dir():
        raise StartupError(f"The data directory {path} is not a folder: point --data-dir / INVESTBOT_DATA_DIR at one")
    files = [path / name for name in (DB_FILENAME, f"{DB_FILENAME}-wal", f"{DB_FILENAME}-shm")]
    if not os.access(path, os.W_OK | os.X_OK) or any(f.exists() and not os.access(f, os.R_OK | os.W_OK) for f in files):
        raise unwritable(path)


def open_store(settings: Settings) -> Store:
    """The store in the data directory, or one line on what stops it from opening."""
    from index import Store

    check_data_dir(settings.data_dir)
    try:
        return Store.in_dir(settings.data_dir)
    except sqlite3.DatabaseError as exc:
        raise store_error(settings.data_dir, exc) from None


def open_engine(settings: Settings) -> Engine:
    """The engine (store and, if it loads, the model) after the data directory's check."""
    from index import Engine

    store = open_store(settings)
    try:
        return Engine.open(settings.engine_config(), store=store)
    except sqlite3.DatabaseError as exc:
        raise store_error(settings.data_dir, exc) from None


def store_error(data_dir: Path, exc: sqlite3.DatabaseError) -> StartupError:
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
        return unwritable(Path(data_dir))
    return StartupError(
        f"Cannot open the store {Path(data_dir) / DB_FILENAME}: {exc}. Run `investbot check --repair`, or restore "
        "the data directory from a backup"
    )


def require_token(settings: Settings) -> str:
    """The bot's token, or the line that says where to get one."""
    if not settings.telegram_token:
        raise StartupError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token "
            "(in Docker: --env-file with TELEGRAM_BOT_TOKEN=...)"
        )
    return settings.telegram_token


def require_documents(store: Store) -> None:
    """Questions need documents: an empty store is said to be empty, not answered with "not found"."""
    if store.document_count() == 0:
        raise StartupError(EMPTY_STORE)


def model_problem(settings: Settings, engine: Engine) -> str | None:
    """Why the configured model did not load (with what to do), or None when it loaded or none is configured."""
    from bot.cli.model_status import model_line

    if settings.model_name is None or engine.embedder is not None:
        return None
    return model_line(settings, engine.embedder, engine.model_problem)


def health(settings: Settings) -> str:
    """`investbot health`: one line when the store opens, the model loads and the vector index holds every stored
    vector (loaded, or rebuilt as the bot would at its next question); StartupError with the reason otherwise.

    Chunks still waiting for their vectors are not a failure: the bot embeds them in the background (a large
    upload takes minutes), and answers them by keywords meanwhile; the line counts them."""
    engine = open_engine(settings)
    documents = engine.store.document_count()
    problem = model_problem(settings, engine)
    if problem is not None:
        raise StartupError(f"The model cannot load. {problem}")
    waiting = ""
    if engine.embedder is not None:
        model = engine.embedder.name
        try:
            index = engine.vector_index()
        except Exception as exc:  # faiss or the disk: one line, the next reindex says more
            raise StartupError(
                f"The vector index cannot be loaded or rebuilt ({type(exc).__name__}: {exc}): run `investbot reindex`"
            ) from None
        stored = engine.store.vector_count(model)
        if index is None or index.count != stored:
            held = 0 if index is None else index.count
            raise StartupError(f"The vector index holds {held} vectors, the store {stored}: run `investbot reindex`")
        missing = engine.store.missing_vector_count(model)
        waiting = f", {missing} chunks waiting for their vectors" if missing else ""
    return f"Healthy: {documents} documents, {engine.mode} search{waiting}."
