"""Shared fixtures: a temporary data dir, a store, engines, and a tiny offline embedding model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Never let a test reach for the hub: a stray lookup would stall for a minute without a network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SEEDS = ROOT.parent / "shared" / "seeds"
EVAL_DIR = ROOT.parent / "shared" / "eval"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def store(data_dir: Path):
    from index.store import Store

    s = Store.in_dir(data_dir)
    yield s
    s.close()


@pytest.fixture
def lexical_engine(data_dir: Path, store):
    from index.engine import Engine, EngineConfig

    return Engine.open(EngineConfig(data_dir=data_dir, model=None), store)


@pytest.fixture(scope="session")
def knowledge_engine(tmp_path_factory):
    """A lexical-only engine over knowledge/, shared by read-only tests."""
    from index.engine import Engine, EngineConfig

    folder = tmp_path_factory.mktemp("knowledge-data")
    engine = Engine.open(EngineConfig(data_dir=folder, model=None))
    report = engine.ingest([KNOWLEDGE])
    assert not report.failed, report.failed
    return engine


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A real sentence-transformers model (random BERT, WordPiece vocab from knowledge/), built offline."""
    from tests.tiny_model import build_tiny_model

    texts = [p.read_text(encoding="utf-8") for p in sorted(KNOWLEDGE.glob("*.md"))]
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"), texts, dim=32)


@pytest.fixture
def dense_engine(data_dir: Path, store, tiny_model: Path):
    from index.engine import Engine, EngineConfig

    engine = Engine.open(EngineConfig(data_dir=data_dir, model=str(tiny_model)), store)
    assert engine.embedder is not None, engine.model_status
    return engine


TOKEN = "123456:TEST-token-never-in-logs"
ADMIN_ID = 42


@pytest.fixture
def botapi():
    """The Bot API stand-in on 127.0.0.1 (a fresh one per test)."""
    from tests.botapi import BotAPIStandIn

    api = BotAPIStandIn(TOKEN).start()
    yield api
    api.stop()


@pytest.fixture
def bot_settings(data_dir: Path, botapi):
    from bot.settings import Settings

    return Settings(
        data_dir=data_dir, model=None, telegram_token=TOKEN, api_base_url=botapi.base_url,
        admins=frozenset({ADMIN_ID}), log_salt="test-salt",
    )


@pytest.fixture
def bot_app(bot_settings, store):
    """The real Application wired like `investbot serve`, over a store holding knowledge/."""
    from bot.app import build_application
    from bot.questionlog import QuestionLog
    from index.engine import Engine

    engine = Engine.open(bot_settings.engine_config(), store)
    assert not engine.ingest([KNOWLEDGE]).failed
    return build_application(bot_settings, engine, QuestionLog.open(store, bot_settings.log_salt))
