"""What every `investbot` subcommand shares: the settings, the engine opened on demand (its first line
naming the model) after the start-up checks (preflight.py), the question log, the stop request a signal
sets (stopping.py), and embedding with a progress bar that a signal ends cleanly."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from bot.cli import preflight
from bot.cli.model_status import llm_line, model_line
from bot.cli.stopping import StopRequest
from bot.settings import Settings

if TYPE_CHECKING:  # the engine (and its dependencies) load only in commands that need it
    from index import Engine, Store


class Context:
    """Carries the settings to subcommands; the engine is opened only by commands that need it."""

    def __init__(self, settings: Settings, stop: StopRequest | None = None):
        self.settings = settings
        self.stop = stop or StopRequest()
        self._engine: Engine | None = None

    def engine(self, quiet: bool = False) -> Engine:
        if self._engine is None:
            self._engine = preflight.open_engine(self.settings)
            if not quiet:  # every command's first line: the model and backend in use, or how to get one
                click.echo(model_line(self.settings, self._engine.embedder, self._engine.model_problem), err=True)
                if (line := llm_line(self.settings)) is not None:
                    click.echo(line, err=True)
        return self._engine

    def writer(self, engine=None):
        """The language model that writes answers (bot/answering.py), or None without INVESTBOT_LLM_URL; its
        daily tokens are counted in the engine's database."""
        from bot.answering import writer_for

        store = engine.store if engine is not None else None
        return writer_for(self.settings.llm_config(), self.settings.llm_daily_tokens, store)

    def question_log(self, engine=None):
        """The question log in the engine's store (or the store alone, for the review commands)."""
        from bot.questions.log import QuestionLog

        store = engine.store if engine is not None else self.store()
        return QuestionLog.open(store, self.settings.log_salt, self.settings.log_retention_days)

    def store(self) -> Store:
        """The store alone (no model), after the data directory's check."""
        return preflight.open_store(self.settings)

    def escalations(self, log=None):
        """Questions sent on to staff, beside the question log."""
        from bot.questions.escalations import Escalations

        return Escalations(log or self.question_log(), self.settings.escalation_days)

    def ready_engine(self, quiet: bool = False):
        """The engine with vectors for every chunk (embeds what a new model has not seen yet)."""
        engine = self.engine(quiet)
        if engine.embedder is not None:
            embed_with_progress(engine, self.stop)
        return engine


pass_ctx = click.make_pass_decorator(Context)


# Chunks per committed batch while the CLI embeds: a few seconds of the bundled model on 2 cores, so the
# bar and its ETA move often and an interrupted run keeps all but the last few seconds of work.
CLI_EMBED_BATCH = 32


def embed_with_progress(engine, stop: StopRequest | None = None) -> int:
    """Embed the chunks that lack a vector from the current model, with a bar (and its ETA) on stderr.

    A first Ctrl-C or SIGTERM stops the model between two small calls: the chunks encoded are committed and
    the command ends with `Interrupted: N of M chunks embedded; run `investbot reindex` to finish.`"""
    missing = engine.store.missing_vector_count(engine.embedder.name) if engine.embedder is not None else 0
    if not missing:
        return 0
    stop = stop or StopRequest()
    done = 0

    def progress(count: int, _total: int) -> None:
        nonlocal done
        done = count
        bar.update(count - bar.pos)

    stop.resume = lambda: f"{done} of {missing} chunks embedded; run `investbot reindex` to finish"
    with stop.gently(), click.progressbar(length=missing, label="Embedding chunks", file=sys.stderr) as bar:
        done = engine.sync_vectors(progress=progress, batch=CLI_EMBED_BATCH, should_stop=stop)
    if stop():
        raise stop.interrupted()
    return done
