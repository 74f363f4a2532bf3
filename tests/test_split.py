"""index/conversation/split.py: the questions of a long message, without its introduction."""

from __future__ import annotations

import pytest

from index.conversation.split import questions_in

INTRO_321 = (
    "Добрый день! Мы — компания ООО «Ромашка» из Калуги, уже десять лет производим картонную упаковку для "
    "пищевых предприятий и сейчас рассматриваем размещение второго производства в регионе, площадью около двух "
    "гектаров, с газом недалеко. Сколько индустриальных парков в Калужской области? И какие льготы дает "
    "ОЭЗ «Людиново»?"
)

CASES = {
    "ru-intro-321-chars-two-questions": (
        INTRO_321,
        ["Сколько индустриальных парков в Калужской области?", "Какие льготы дает ОЭЗ «Людиново»?"],
    ),
    "en-intro-two-questions-second-leans-on-first": (
        "Hello! We are a French packaging company looking for a site in Russia. How many industrial parks are in "
        "Kaluga Region? And how many of them are operating?",
        [
            "How many industrial parks are in Kaluga Region?",
            "How many industrial parks in Kaluga Region are operating?",
        ],
    ),
    "ru-numbered-list": (
        "Здравствуйте.\nУ нас несколько вопросов:\n1. Какова стоимость аренды земли в Ворсино?\n"
        "2. Есть ли гранты для малого бизнеса\n3) Какие налоговые льготы у резидентов ОЭЗ?\n4. Сроки подключения?",
        [
            "Какова стоимость аренды земли в Ворсино?",
            "Есть ли гранты для малого бизнеса",
            "Какие налоговые льготы у резидентов ОЭЗ?",
        ],
    ),
    "en-bulleted-list": (
        "Our questions:\n- What is the land lease rate in Vorsino?\n- Which grants are available?",
        ["What is the land lease rate in Vorsino?", "Which grants are available?"],
    ),
    "limit-of-three": (
        "Сколько парков? Сколько кластеров? Сколько резидентов? Сколько рабочих мест?",
        ["Сколько парков?", "Сколько кластеров?", "Сколько резидентов?"],
    ),
    "ru-request-tell-about": ("Привет! Расскажите о ОЭЗ «Людиново».", ["Расскажите о ОЭЗ «Людиново»."]),
    "en-request-tell-me-about": (
        "Good afternoon. We produce pharmaceuticals. Tell me about the pharmaceutical cluster.",
        ["Tell me about the pharmaceutical cluster."],
    ),
    "en-please-send": (
        "Hi there. We are from Lyon. Please send the list of industrial parks. Thanks!",
        ["Send the list of industrial parks."],
    ),
    "ru-podskazhite-without-question-mark": (
        "Добрый день. Мы планируем производство. Подскажите, пожалуйста, контакты агентства.",
        ["Контакты агентства."],
    ),
    "ru-question-without-question-mark": (
        "Сколько индустриальных парков в Калужской области",
        ["Сколько индустриальных парков в Калужской области"],
    ),
    "en-question-word-without-mark-after-intro": (
        "We make car parts. What benefits do SEZ residents get",
        ["What benefits do SEZ residents get"],
    ),
    "ru-keywords-returned-whole": ("налоговые льготы для резидентов", ["налоговые льготы для резидентов"]),
    "ru-keywords-greeting-stripped": ("Здравствуйте! налоговые льготы", ["Налоговые льготы"]),
    "lower-case-after-question-mark": (
        "сколько парков в калужской области? и какие там льготы?",
        ["Сколько парков в калужской области?", "Какие там (парков в калужской области) льготы?"],
    ),
    "small-talk-sentence-dropped": ("Привет, как дела? Сколько стоит аренда земли?", ["Сколько стоит аренда земли?"]),
    "small-talk-only": ("Спасибо!", []),
    "empty": ("", []),
    "duplicate-question-once": ("Сколько парков? Сколько парков?", ["Сколько парков?"]),
}


@pytest.mark.parametrize(("message", "expected"), list(CASES.values()), ids=list(CASES))
def test_questions_in(message: str, expected: list[str]) -> None:
    assert questions_in(message) == expected


def test_intro_case_is_long() -> None:
    assert len(INTRO_321) == 321


def test_limit() -> None:
    assert questions_in("Сколько парков? Сколько кластеров?", limit=1) == ["Сколько парков?"]
