"""tests/botapi.py's wait_idle: the signal negative bot checks rest on must wait for the handler to finish,
not only for the update to be fetched, or "the bot did not reply" would pass before the bot got to it."""

from __future__ import annotations

import asyncio
import threading

from tests.conftest import ADMIN_ID


async def _start(application) -> None:
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0.0, timeout=1)


async def _stop(application) -> None:
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


def test_wait_idle_waits_for_the_handler_to_finish(botapi, bot_app, monkeypatch):
    engine = bot_app.bot_data.engine
    real_answer = engine.answer
    entered = threading.Event()
    release = threading.Event()

    def held_answer(*args, **kwargs):
        entered.set()
        release.wait(120)  # a deadline for a broken test, never reached when it works
        return real_answer(*args, **kwargs)

    monkeypatch.setattr(engine, "answer", held_answer)

    async def scenario():
        await _start(bot_app)
        try:
            botapi.send_text(ADMIN_ID, "How many industrial parks does Kaluga Region have?")
            idle = asyncio.create_task(botapi.wait_idle(bot_app))
            await botapi.until(entered.is_set, what="the handler to start answering")
            await asyncio.sleep(0.2)  # room for a wrong wait_idle to return early; a right one cannot
            returned_early = idle.done()
            release.set()
            await idle
            return returned_early, botapi.sent(ADMIN_ID)
        finally:
            release.set()
            await _stop(bot_app)

    returned_early, sent_when_idle = asyncio.run(scenario())
    assert not returned_early
    assert sent_when_idle  # by the time wait_idle returned, the answer had been sent
