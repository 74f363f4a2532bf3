"""index/conversation/smalltalk.py: small talk is recognised, a question behind a greeting is not small talk."""

from __future__ import annotations

import pytest

from index.conversation.smalltalk import SmallTalk, classify, message_language, strip_greeting

ST = SmallTalk
CLASSIFY_CASES = {
    "ru-greeting": ("Привет!", ST.GREETING),
    "ru-greeting-formal": ("Здравствуйте", ST.GREETING),
    "ru-good-day": ("Добрый день!", ST.GREETING),
    "en-greeting": ("Hello there!", ST.GREETING),
    "en-good-morning": ("Good morning", ST.GREETING),
    "ru-thanks": ("Спасибо большое!", ST.THANKS),
    "ru-thanks-for-answer": ("Спасибо за ответ", ST.THANKS),
    "en-thanks-a-lot": ("thanks a lot!", ST.THANKS),
    "en-thank-you-for-help": ("Thank you very much for your help", ST.THANKS),
    "thanks-emoji": ("🙏", ST.THANKS),
    "ru-ack-ponyatno": ("Понятно", ST.ACK),
    "ru-ack-yasno": ("ясно.", ST.ACK),
    "ru-ack-horosho": ("Хорошо", ST.ACK),
    "en-ack-ok": ("ok", ST.ACK),
    "en-ack-got-it": ("Got it, thanks", ST.THANKS),
    "thumbs-up": ("👍", ST.ACK),
    "ru-farewell": ("До свидания!", ST.FAREWELL),
    "ru-thanks-and-bye": ("Ок, спасибо, пока", ST.FAREWELL),
    "en-bye": ("Bye, have a nice day", ST.FAREWELL),
    "ru-how-are-you": ("Как дела?", ST.HOW_ARE_YOU),
    "ru-hi-how-are-you": ("Привет, как дела?", ST.HOW_ARE_YOU),
    "en-how-are-you": ("How are you doing?", ST.HOW_ARE_YOU),
    "en-whats-up": ("what's up", ST.HOW_ARE_YOU),
    "ru-who-are-you": ("Кто ты?", ST.WHO_ARE_YOU),
    "ru-are-you-bot": ("Вы бот?", ST.WHO_ARE_YOU),
    "en-are-you-human": ("Are you a human?", ST.WHO_ARE_YOU),
    "ru-what-can-you-do": ("Что ты умеешь?", ST.WHAT_CAN_YOU_DO),
    "ru-hi-what-can-you-do": ("Здравствуйте! Чем вы можете помочь?", ST.WHAT_CAN_YOU_DO),
    "en-what-can-you-do": ("What can you do?", ST.WHAT_CAN_YOU_DO),
    "en-help": ("help", ST.WHAT_CAN_YOU_DO),
    "ru-compliment": ("Молодец!", ST.COMPLIMENT),
    "en-good-bot": ("good bot", ST.COMPLIMENT),
    "ru-complaint": ("Не то", ST.COMPLAINT),
    "en-complaint": ("That's wrong", ST.COMPLAINT),
    "ru-joke": ("Расскажи анекдот", ST.CHITCHAT),
    "en-joke": ("tell me a joke", ST.CHITCHAT),
    "question-mark": ("?", ST.PUNCTUATION_ONLY),
    "ellipsis": ("...", ST.PUNCTUATION_ONLY),
    "bangs": ("!!", ST.PUNCTUATION_ONLY),
    "empty": ("   ", ST.PUNCTUATION_ONLY),
    "emoji-only": ("🤔🏭💰", ST.EMOJI_ONLY),
    "url": ("https://invest.kaluga.ru/parks/vorsino", ST.LINK_ONLY),
    "url-www": ("www.example.com", ST.LINK_ONLY),
    "url-rf": ("калуга.рф", ST.LINK_ONLY),
    "two-urls": ("https://a.ru/x, https://b.com/y", ST.LINK_ONLY),
    # Real questions are not small talk, whatever they open with.
    "ru-greeting-then-question": ("Привет! Сколько парков в Калужской области?", None),
    "en-greeting-then-question": ("Hello! How many industrial parks are in Kaluga Region?", None),
    "ru-ok-then-question": ("Хорошо, а сколько стоит земля?", None),
    "ru-thanks-then-followup": ("Спасибо! А в Туле?", None),
    "en-help-me-find": ("help me find land in Kaluga", None),
    "en-what-can-you-tell-about-sez": ("What can you tell me about the Lyudinovo SEZ?", None),
    "ru-keywords": ("налоговые льготы", None),
    "url-with-question": ("https://invest.kaluga.ru что это за сайт?", None),
    "ru-how-lease": ("Как арендовать землю?", None),
    "en-who-manages": ("Who manages the Vorsino park?", None),
}


@pytest.mark.parametrize(("message", "kind"), list(CLASSIFY_CASES.values()), ids=list(CLASSIFY_CASES))
def test_classify(message: str, kind: SmallTalk | None) -> None:
    assert classify(message) == kind


STRIP_CASES = {
    "ru-hello-please": (
        "Здравствуйте, подскажите, пожалуйста, сколько парков в регионе?",
        "Сколько парков в регионе?",
    ),
    "ru-good-day": ("Добрый день. Какие льготы есть у резидентов ОЭЗ?", "Какие льготы есть у резидентов ОЭЗ?"),
    "ru-yo": ("Добрый вечер! Ещё вопрос", "Ещё вопрос"),
    "en-hello-could-you": ("Hello! Could you tell me how many parks there are?", "How many parks there are?"),
    "en-hi-i-would-like": ("Hi, I'd like to know the land lease rate.", "The land lease rate."),
    "en-dear-colleagues": ("Dear colleagues, what grants are available?", "What grants are available?"),
    "ru-thanks-and": ("Спасибо! А в Туле?", "А в Туле?"),
    "nothing-to-strip": ("Сколько парков?", "Сколько парков?"),
    "greeting-only": ("Привет!", ""),
    "word-starting-like-greeting": ("History of the Kaluga parks?", "History of the Kaluga parks?"),
    "ru-yo-in-word": ("Хайтек-парк в Обнинске?", "Хайтек-парк в Обнинске?"),
}


@pytest.mark.parametrize(("message", "expected"), list(STRIP_CASES.values()), ids=list(STRIP_CASES))
def test_strip_greeting(message: str, expected: str) -> None:
    assert strip_greeting(message) == expected


LANGUAGE_CASES = {
    "ru": ("Сколько парков?", "en", "ru"),
    "en": ("How many parks?", "ru", "en"),
    "ru-with-latin-name": ("Что такое SEZ Lyudinovo и где она?", "en", "ru"),
    "question-mark-default": ("?", "ru", "ru"),
    "emoji-default": ("🤔🏭💰", "en", "en"),
    "url-does-not-count": ("https://invest.kaluga.ru/parks/vorsino что это?", "en", "ru"),
    "digits-default": ("2024", "ru", "ru"),
}


@pytest.mark.parametrize(("text", "default", "expected"), list(LANGUAGE_CASES.values()), ids=list(LANGUAGE_CASES))
def test_message_language(text: str, default: str, expected: str) -> None:
    assert message_language(text, default) == expected
