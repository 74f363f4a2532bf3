"""index/text.py: the tokens, stems, languages and sentences shared by indexing and answering."""

from __future__ import annotations

import pytest

from index.text.tokens import (
    STOPWORDS,
    detect_language,
    is_heading_line,
    normalize,
    split_marked,
    split_sentences,
    stem_word,
    terms,
    word_count,
    words,
)

# --- split_sentences ---------------------------------------------------------------------------

SENTENCE_CASES = [
    ("Kaluga grows. Investors come.", ["Kaluga grows.", "Investors come."]),
    ("Is it big? Yes! It is… Fine.", ["Is it big?", "Yes!", "It is…", "Fine."]),
    ("Mr. Smith arrived. He spoke.", ["Mr. Smith arrived.", "He spoke."]),
    ("Dr. Brown and Prof. Green met. They agreed.", ["Dr. Brown and Prof. Green met.", "They agreed."]),
    ("A. Laptev took part. The forum ended.", ["A. Laptev took part.", "The forum ended."]),
    ("Губернатор Н. Любимов подписал. Это важно.", ["Губернатор Н. Любимов подписал.", "Это важно."]),
    ("Губернатор А.А. Артамонов подписал. Это важно.", ["Губернатор А.А. Артамонов подписал.", "Это важно."]),
    ("Production grew by 2.9%. Output rose.", ["Production grew by 2.9%.", "Output rose."]),
    ("Rates fell to 7.5 percent in 2015. Growth followed.", ["Rates fell to 7.5 percent in 2015.", "Growth followed."]),
    ("In 2014 output grew. 12 plants opened.", ["In 2014 output grew.", "12 plants opened."]),
    ("Кластеры, т.е. группы компаний, растут. Это факт.", ["Кластеры, т.е. группы компаний, растут.", "Это факт."]),
    ("Завод в г. Калуга работает. Второй строится.", ["Завод в г. Калуга работает.", "Второй строится."]),
    # "2014 г. Компания" may also open a sentence ("В 2014 г. Компания ..."): joined on purpose.
    ("Открыт в 2014 г. Компания растёт.", ["Открыт в 2014 г. Компания растёт."]),
    ("See the U.S. market. Next one.", ["See the U.S. market.", "Next one."]),
    ("He said: “Go home.” Then he left.", ["He said: “Go home.”", "Then he left."]),
    ("Он сказал: «Мы готовы». Затем ушёл.", ["Он сказал: «Мы готовы».", "Затем ушёл."]),
    ("Он сказал: «Всё хорошо.» Потом ушёл.", ["Он сказал: «Всё хорошо.»", "Потом ушёл."]),
    ("The park is large and\nwell connected. It is new.", ["The park is large and well connected.", "It is new."]),
    ("Key facts\nThe region has 10 parks.", ["Key facts", "The region has 10 parks."]),
    ("## Industrial parks\nThere are ten of them.", ["## Industrial parks", "There are ten of them."]),
    ("Priorities:\n• pharma\n• logistics", ["Priorities:", "• pharma", "• logistics"]),
    ("First paragraph without a stop\n\nSecond paragraph", ["First paragraph without a stop", "Second paragraph"]),
    ("lower case start. Another one.", ["lower case start.", "Another one."]),
    ("No split before lower case. e.g. here it goes on.", ["No split before lower case. e.g. here it goes on."]),
    ("", []),
    ("  \n\n  ", []),
]
SENTENCE_IDS = [
    "simple",
    "question-exclamation-ellipsis",
    "mr",
    "dr-prof",
    "initial-en",
    "initial-ru",
    "double-initials-ru",
    "decimal-percent",
    "decimal-word",
    "digit-starts-sentence",
    "ru-t-e",
    "ru-g-city",
    "ru-g-after-year-joined",
    "us-abbreviation",
    "closing-quote-en",
    "guillemets-after-stop",
    "guillemets-before-stop",
    "wrapped-line",
    "heading-line",
    "markdown-heading",
    "bullets",
    "paragraphs",
    "lowercase-first",
    "lowercase-next",
    "empty",
    "blank",
]


@pytest.mark.parametrize(("text", "expected"), SENTENCE_CASES, ids=SENTENCE_IDS)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_split_sentences_keeps_every_word():
    text = "Mr. A. Laptev said: “Growth is 2.9%.” Kaluga leads.\nIt has\nten parks.\n\nНовый абзац, т.е. текст."
    assert " ".join(split_sentences(text)).split() == text.split()


# --- words, terms, stems -----------------------------------------------------------------------

TERMS_CASES = [
    ("Investors are investing in industrial parks", ["investor", "invest", "industri", "park"]),
    ("What tax benefits do residents get?", ["tax", "benefit", "resid", "get"]),
    ("Инвестиционные проекты в Калужской области", ["инвестицион", "проект", "калужск", "област"]),
    ("Какие льготы получают резиденты ОЭЗ?", ["льгот", "получа", "резидент", "оэз"]),
    ("Ёлочные игрушки", ["елочн", "игрушк"]),
    ("Сколько стоит её земля?", ["сто", "земл"]),
    ("Kaluga и Калуга", ["kaluga", "калуг"]),
    ("Growth was 2.9% in 2014", ["growth", "2", "9", "2014"]),
    ("co-operation", ["co", "oper"]),
    ("", []),
]
TERMS_IDS = [
    "en-stems",
    "en-question-stopwords",
    "ru-stems",
    "ru-question-stopwords",
    "ru-yo-to-ye",
    "ru-yo-stopword",
    "mixed-scripts",
    "numbers",
    "hyphen-split",
    "empty",
]


@pytest.mark.parametrize(("text", "expected"), TERMS_CASES, ids=TERMS_IDS)
def test_terms(text, expected):
    assert terms(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is the park?", ["what", "is", "the", "park"]),
        ("Что такое парк?", ["что", "так", "парк"]),
    ],
    ids=["en", "ru"],
)
def test_terms_keep_stopwords(text, expected):
    assert terms(text, keep_stopwords=True) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ёлка", "елка"),
        ("ЁЖ", "еж"),
        ("industrial parks", "Industrial Park"),
        ("инвестиционных проектов", "инвестиционные проекты"),
    ],
    ids=["yo", "yo-upper", "en-plural-case", "ru-cases"],
)
def test_terms_match_across_forms(a, b):
    assert terms(a) == terms(b)


def test_stopwords_are_normalised_forms():
    # terms() compares normalised words with STOPWORDS, so "её" must be found as "ее".
    assert "ее" in STOPWORDS and "еще" in STOPWORDS
    assert terms("её ещё") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L’Oréal co-operation", ["l", "oréal", "co", "operation"]),
        ("don't", ["don", "t"]),
        ("snake_case", ["snake", "case"]),
        ("ﬁnance", ["finance"]),
        ("US$1 billion", ["us", "1", "billion"]),
    ],
    ids=["apostrophe-hyphen", "contraction", "underscore", "nfkc-ligature", "currency"],
)
def test_words(text, expected):
    assert words(text) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [("running", "run"), ("клёны", "клен"), ("2014", "2014"), ("парки", "парк")],
    ids=["en", "ru-yo", "digits", "ru"],
)
def test_stem_word(word, expected):
    assert stem_word(normalize(word)) == expected


def test_normalize():
    assert normalize("ЁЖ ﬁ Kaluga") == "еж fi kaluga"


def test_word_count():
    assert word_count(" one  two\nthree ") == 3


# --- detect_language ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Какие льготы получают инвесторы?", "ru"),
        ("What benefits do investors get?", "en"),
        ("Калужская область, Kaluga", "ru"),
        ("Kaluga Region, ОЭЗ", "en"),
        ("Калуга Kaluga", "en"),
        ("2014 10%", "en"),
        ("", "en"),
    ],
    ids=["ru", "en", "mostly-ru", "mostly-en", "tie-goes-en", "no-letters", "empty"],
)
def test_detect_language(text, expected):
    assert detect_language(text) == expected


# --- headings -------------------------------------------------------------------------------------

HEADING_CASES = [
    pytest.param(
        "Индустриальный парк «Сосновый Бор»\n\nИндустриальный парк «Сосновый Бор» открылся 15 марта 2025 года.",
        [True, False],
        id="title-then-blank-line",
    ),
    pytest.param(
        "Индустриальный парк «Сосновый Бор»\nИндустриальный парк «Сосновый Бор» открылся 15 марта 2025 года.",
        [True, False],
        id="title-then-longer-line",
    ),
    pytest.param("## Tax benefits\nResidents pay no property tax.", [True, False], id="markdown-heading"),
    pytest.param(
        "Key facts\n\nThe region has 10 parks. It grows.", [True, False, False], id="heading-of-two-sentences"
    ),
    pytest.param("Площадь: 120 га\nТариф на электроэнергию 5,2 руб.", [False, False], id="key-value-lines-are-data"),
    pytest.param("Area 120 ha\n\nThe park is new.", [False, False], id="a-line-with-digits-is-data"),
    pytest.param(
        "Управляющая компания: АО «Технополис»\nАренда земли стоит 120 рублей за квадратный метр в год.",
        [False, False],
        id="key-value-line-above-text",
    ),
    pytest.param(
        "Индустриальный парк «Лесной»: паспорт площадки\n\nПарк расположен в Борисовском районе.",
        [True, False],
        id="title-with-subtitle-paragraph",
    ),
    pytest.param(
        "It is big. Pieter Boone\nChairman of the board, METRO", [False, False, False], id="byline-in-paragraph"
    ),
    pytest.param("Priorities\n• pharma\n• logistics", [False, False, False], id="list-items-are-content"),
    pytest.param("The park is large and\nwell connected.", [False], id="wrapped-line"),
    pytest.param("The region grows.", [False], id="one-sentence"),
]


@pytest.mark.parametrize(("text", "headings"), HEADING_CASES)
def test_headings_are_lines_of_their_own(text, headings):
    marked = split_marked(text)
    assert [s.heading for s in marked] == headings
    assert [s.text for s in marked] == split_sentences(text)  # the same sentences, only marked


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("Индустриальный парк «Сосновый Бор»", True, id="name-in-guillemets"),
        pytest.param("Special economic zone Lyudinovo", True, id="en-title"),
        pytest.param("The park opened in March.", False, id="sentence"),
        pytest.param("Tariffs:", False, id="final-colon"),
        pytest.param("Zarechny Industrial Park: site data sheet", True, id="title-with-subtitle"),
        pytest.param("Distance to Moscow 95 km", False, id="digits"),
        pytest.param("• Cheap land", False, id="bullet"),
        pytest.param(" ".join(["word"] * 13), False, id="too-long"),
    ],
)
def test_is_heading_line(line, expected):
    assert is_heading_line(line) is expected
