"""Generated answers in Telegram, end to end: the real Application against the Bot API stand-in (tests/botapi.py)
and the OpenAI-compatible stand-in (tests/llmserver.py). Drafts stream before the one final message; text that
failed the check is never a message; the model is sent no user id, name or chat id; an uncovered question and a
bot without a model never reach it."""

from __future__ import annotations

import json
import threading

import pytest

from tests.botapi import BOT_USERNAME
from tests.conftest import KNOWLEDGE
from tests.llmserver import LLMServer, completion, streamed
from tests.test_bot import complete_answer, run, running

INVESTOR = 987654321  # distinctive: the test looks for it in what the model was sent
KALUGA_RU = "Сколько индустриальных парков в Калужской области?"
GROUNDED_PIECES = (
    "В Калужской области 10 индустриальных парков, ",
    "в которых реализуются 89 высокотехнологичных проектов [1].",
)
HALLUCINATED_PIECES = ("В Калужской области 12 индустриальных парков, ", "а проектов — 89 [1].")
USAGE = {"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940}


@pytest.fixture
def server():
    with LLMServer() as s:
        yield s


@pytest.fixture
def llm_app(bot_settings, store, server):
    """The bot wired like `investbot serve` with INVESTBOT_LLM_URL pointing at the stand-in."""
    from bot.questions.log import QuestionLog
    from bot.telegram.app import build_application
    from index.engine import Engine

    settings = bot_settings.with_(llm_url=server.url, llm_model="test-model", llm_timeout_s=20.0)
    engine = Engine.open(settings.engine_config(), store)
    assert not engine.ingest([KNOWLEDGE]).failed
    return build_application(settings, engine, QuestionLog.open(store, settings.log_salt))


def order_of(api, method: str) -> list[int]:
    """Where in the bot's calls each call of `method` came."""
    with api.cond:
        return [i for i, (name, _) in enumerate(api.calls) if name == method]


def test_drafts_stream_before_the_one_final_answer_in_russian(botapi, llm_app, server):
    gate = threading.Event()  # the stand-in holds the rest of its reply until the test has seen a draft
    server.script(streamed(GROUNDED_PIECES, usage=USAGE, gate=gate))

    async def scenario():
        async with running(llm_app):
            botapi.send_text(INVESTOR, KALUGA_RU, language_code="ru")
            await botapi.until(lambda: botapi.calls_of("sendMessageDraft"), what="a draft")
            assert botapi.sent(INVESTOR) == []  # nothing final while the model writes
            gate.set()
            return await complete_answer(botapi, INVESTOR)

    messages = run(scenario())
    drafts = botapi.calls_of("sendMessageDraft")
    assert drafts[0]["text"].startswith("В Калужской области 10 индустриальных парков")
    assert "[1]" not in drafts[0]["text"]
    assert {int(d["chat_id"]) for d in drafts} == {INVESTOR} and all(int(d["draft_id"]) != 0 for d in drafts)
    assert max(order_of(botapi, "sendMessageDraft")) < min(order_of(botapi, "sendMessage"))
    whole = "\n".join(m["text"] for m in messages)
    assert messages[0]["text"].startswith(
        "<b>В Калужской области 10 индустриальных парков, в которых реализуются 89 высокотехнологичных проектов."
    )
    assert "Forum of Russian Regions" in whole and "2014-04-08" in whole  # the cited passage as the source
    assert "CCI France Russie" not in whole  # passages the answer does not cite are not its sources
    buttons = [b["callback_data"] for row in messages[-1]["reply_markup"]["inline_keyboard"] for b in row]
    assert any(b.startswith("fb:") for b in buttons)
    row = llm_app.bot_data.questions.questions(limit=1)[0]
    assert (row["answer_source"], row["llm_model"], row["llm_rejected"]) == ("llm", "stand-in-1", None)
    assert (row["llm_prompt_tokens"], row["llm_completion_tokens"]) == (900, 40)


def test_the_model_is_sent_no_user_id_name_or_chat_id(botapi, llm_app, server):
    server.script(completion("".join(GROUNDED_PIECES), usage=USAGE))

    async def scenario():
        async with running(llm_app):
            botapi.send_text(INVESTOR, KALUGA_RU, language_code="ru")
            return await complete_answer(botapi, INVESTOR)

    run(scenario())
    (request,) = server.requests
    sent = json.dumps(request.body, ensure_ascii=False)
    assert KALUGA_RU in sent and "There are 10 industrial parks" in sent
    assert str(INVESTOR) not in sent and f"User{INVESTOR}" not in sent and BOT_USERNAME not in sent
    assert not any(str(INVESTOR) in value for value in request.headers.values())
    assert set(request.body) <= {"model", "messages", "stream", "stream_options", "max_tokens", "temperature"}


def test_a_hallucinated_number_never_becomes_a_message(botapi, llm_app, server):
    server.script(streamed(HALLUCINATED_PIECES, usage=USAGE))

    async def scenario():
        async with running(llm_app):
            botapi.send_text(INVESTOR, KALUGA_RU, language_code="ru")
            return await complete_answer(botapi, INVESTOR)

    messages = run(scenario())
    whole = "\n".join(m["text"] for m in messages)
    assert "12 индустриальных" not in whole
    assert "<b>There are 10 industrial parks in the region" in messages[0]["text"]  # the extract
    row = llm_app.bot_data.questions.questions(limit=1)[0]
    assert (row["answer_source"], row["llm_rejected"]) == ("extract", "unsupported_number")


def test_an_uncovered_question_never_reaches_the_model(botapi, llm_app, server):
    async def scenario():
        async with running(llm_app):
            botapi.send_text(INVESTOR, "How do I bake a chocolate cake?")
            await botapi.until(lambda: botapi.sent(INVESTOR), what="a reply")
            await botapi.wait_idle(llm_app)

    run(scenario())
    assert server.requests == [] and botapi.calls_of("sendMessageDraft") == []
    assert botapi.sent(INVESTOR)[-1]["text"] == "I could not find this in the agency's documents."


def test_in_a_group_the_answer_is_generated_without_drafts(botapi, llm_app, server):
    server.script(completion("".join(GROUNDED_PIECES), usage=USAGE))
    group = -500
    mention = f"@{BOT_USERNAME}"

    async def scenario():
        async with running(llm_app):
            botapi.send_text(
                INVESTOR,
                f"{mention} {KALUGA_RU}",
                chat_type="group",
                chat_id=group,
                language_code="ru",
                entities=[{"type": "mention", "offset": 0, "length": len(mention)}],
            )
            return await complete_answer(botapi, group)

    messages = run(scenario())
    assert messages[0]["text"].startswith("<b>В Калужской области 10 индустриальных парков")
    assert botapi.calls_of("sendMessageDraft") == []  # Telegram has drafts in private chats only
    assert server.requests[0].body.get("stream") is not True


def test_without_a_model_the_bot_answers_as_before(botapi, bot_app):
    async def scenario():
        async with running(bot_app):
            botapi.send_text(INVESTOR, KALUGA_RU, language_code="ru")
            return await complete_answer(botapi, INVESTOR)

    messages = run(scenario())
    assert "<b>There are 10 industrial parks in the region" in messages[0]["text"]
    assert botapi.calls_of("sendMessageDraft") == []
    row = bot_app.bot_data.questions.questions(limit=1)[0]
    assert (row["answer_source"], row["llm_model"]) == ("extract", None)


class _Bot:
    def __init__(self, fail: bool = False):
        self.drafts: list[tuple[int, int, str]] = []
        self.fail = fail
        self.attempts = 0

    async def send_message_draft(self, chat_id: int, draft_id: int, text: str) -> bool:
        self.attempts += 1
        if self.fail:
            raise RuntimeError("Bad Request: drafts are not allowed")
        self.drafts.append((chat_id, draft_id, text))
        return True


class _Context:
    def __init__(self, bot: _Bot):
        self.bot = bot


def _stream(bot: _Bot, deltas: list[str], interval: float, more: tuple[str, ...] = ()) -> int:
    """Deltas from a worker thread, as the model's client sends them; returns the drafts the stream counted."""
    import asyncio

    from bot.telegram.generated import DraftStream

    async def scenario() -> int:
        stream = DraftStream(_Context(bot), 5, 77, interval=interval)  # type: ignore[arg-type]
        thread = threading.Thread(target=lambda: [stream.on_delta(d) for d in deltas])
        thread.start()
        await asyncio.to_thread(thread.join)
        while not bot.attempts:  # the first draft goes out at once (leading edge)
            await asyncio.sleep(0.01)
        for delta in more:
            stream.on_delta(delta)
        await asyncio.sleep(0.05)
        await stream.close()
        return stream.drafts

    return asyncio.run(scenario())


def test_drafts_are_throttled_and_stop_when_the_answer_is_final():
    bot = _Bot()
    # An interval far longer than the test: one draft, and close() cuts the wait short instead of sending more.
    count = _stream(bot, ["В", "В Калужской", "В Калужской области <10>"], interval=3600)
    assert count == len(bot.drafts) == 1
    chat_id, draft_id, text = bot.drafts[0]
    assert (chat_id, draft_id) == (5, 77) and text.startswith("В")


def test_a_refused_draft_stops_the_drafts_not_the_answer():
    bot = _Bot(fail=True)
    assert _stream(bot, ["one"], interval=0.01, more=("one two", "one two three")) == 0
    assert bot.attempts == 1  # no further draft after the refusal


def test_a_follow_up_is_rewritten_by_the_model_before_retrieval(botapi, llm_app, server):
    """With a model, «А сколько из них уже работают?» after the parks question is rewritten by it (sent only
    the question and the chat's turns); the reply says how it was understood, and retrieval used that question."""
    rewritten = "Сколько производств в индустриальных парках Калужской области уже работают?"
    server.script(
        completion("В Калужской области 10 индустриальных парков [1].", usage=USAGE),  # the first answer
        completion(rewritten, usage=USAGE),  # the rewrite of the follow-up
        completion("77 производств уже введены в эксплуатацию [1].", usage=USAGE),  # its answer
    )

    async def scenario():
        async with running(llm_app):
            botapi.send_text(INVESTOR, KALUGA_RU, language_code="ru")
            await complete_answer(botapi, INVESTOR)
            botapi.send_text(INVESTOR, "А сколько из них уже работают?", language_code="ru")
            await botapi.until(lambda: len(server.requests) >= 3, what="the follow-up's answer from the model")
            return await complete_answer(botapi, INVESTOR, 2)

    messages = run(scenario())
    whole = "\n".join(m["text"] for m in messages)
    assert rewritten in whole  # "Понял вопрос как: …" names the model's reading
    rewrite_request = json.dumps(server.requests[1].body, ensure_ascii=False)
    assert "А сколько из них уже работают?" in rewrite_request and str(INVESTOR) not in rewrite_request
    row = llm_app.bot_data.questions.questions(limit=1)[0]
    assert row["question"] == rewritten
