"""index/chunking.py: sentence-aware chunks with a one-sentence overlap."""

from __future__ import annotations

import itertools
import random

import pytest

from index.ingest.chunking import HARD_MAX_WORDS, MAX_WORDS, MIN_WORDS, Chunk, chunk_pages
from index.text.tokens import split_sentences, word_count

# --- generated texts ---------------------------------------------------------------------------

# Words that are never abbreviations or single letters, so split_sentences cuts exactly at our stops.
EN_WORDS = (
    "region investment park factory growth capital export project company market plant industry "
    "cluster logistics workforce technology partner agreement development production"
).split()
RU_WORDS = (
    "регион инвестиции завод парк рост проект компания рынок экспорт капитал кластер логистика "
    "производство технология партнер соглашение развитие область предприятие"
).split()


def _sentence(rng: random.Random, index: int, vocab: list[str], lead: str, low: int, high: int) -> str:
    body = " ".join(rng.choice(vocab) for _ in range(rng.randint(low, high) - 2))
    return f"{lead} {index} {body}."


def make_text(seed: int, sentences: int, paragraphs: int = 1, lang: str = "en", low: int = 8, high: int = 30) -> str:
    """Unique, numbered sentences ("Sentence 17 ...") spread over paragraphs."""
    rng = random.Random(seed)
    vocab, lead = (EN_WORDS, "Sentence") if lang == "en" else (RU_WORDS, "Фраза")
    all_sentences = [_sentence(rng, i, vocab, lead, low, high) for i in range(sentences)]
    size = -(-sentences // paragraphs)
    return "\n\n".join(" ".join(all_sentences[i : i + size]) for i in range(0, sentences, size))


def input_sentences(pages: list[tuple[int | None, str]]) -> list[tuple[str, int | None]]:
    """The sentences of the input, as split_sentences sees them paragraph by paragraph, with pages."""
    out = []
    for page, text in pages:
        for paragraph in text.split("\n\n"):
            out.extend((s, page) for s in split_sentences(paragraph))
    return out


def _flat(text: str) -> str:
    return " ".join(text.split())


def locate(chunk: Chunk, sentences: list[str]) -> tuple[int, int]:
    """(first, last) indexes of the run of input sentences the chunk consists of, exactly.

    Fails when the chunk starts or ends inside a sentence, or is not a contiguous run.
    """
    flat = _flat(chunk.text)
    for first, sentence in enumerate(sentences):
        if not flat.startswith(_flat(sentence)):
            continue
        joined = ""
        for last in range(first, len(sentences)):
            joined = f"{joined} {_flat(sentences[last])}".strip()
            if joined == flat:
                return first, last
            if not flat.startswith(joined):
                break
    raise AssertionError(f"chunk {chunk.position} is not a run of whole input sentences: {chunk.text[:120]!r}")


# --- the table ---------------------------------------------------------------------------------

# (pages, expected number of chunks or None for "several", whether the size bounds must hold)
LONG_EN = [(None, make_text(1, 80))]
LONG_EN_PARAGRAPHS = [(None, make_text(2, 90, paragraphs=6))]
LONG_RU = [(None, make_text(3, 80, lang="ru"))]
PAGED = [(1, make_text(4, 25)), (2, make_text(5, 25)), (3, make_text(6, 25)), (4, make_text(7, 3))]
SHORT_SENTENCES = [(None, make_text(8, 150, low=3, high=6))]
LONG_SENTENCES = [(None, make_text(9, 30, low=60, high=90))]

CHUNKING_CASES = [
    pytest.param(LONG_EN, id="long-en"),
    pytest.param(LONG_EN_PARAGRAPHS, id="long-en-paragraphs"),
    pytest.param(LONG_RU, id="long-ru"),
    pytest.param(PAGED, id="pages"),
    pytest.param(SHORT_SENTENCES, id="short-sentences"),
    pytest.param(LONG_SENTENCES, id="long-sentences"),
]


@pytest.mark.parametrize(
    "pages",
    [[], [(1, "")], [(None, "   \n\n  \n")], [(1, ""), (2, " \n ")]],
    ids=["no-pages", "empty-page", "blank-page", "several-blank-pages"],
)
def test_empty_input_gives_no_chunks(pages):
    assert chunk_pages(pages) == []


@pytest.mark.parametrize(
    ("pages", "expected_text", "expected_page"),
    [
        (
            [(None, "Kaluga has ten industrial parks. They host 89 projects.")],
            "Kaluga has ten industrial parks. They host 89 projects.",
            None,
        ),
        (
            [(7, "Калужская область имеет десять парков. В них 89 проектов.")],
            "Калужская область имеет десять парков. В них 89 проектов.",
            7,
        ),
        ([(3, "A heading without a stop")], "A heading without a stop", 3),
        ([(1, ""), (2, "Only the second page has text.")], "Only the second page has text.", 2),
    ],
    ids=["en-paragraph", "ru-paragraph", "no-final-stop", "first-page-empty"],
)
def test_short_text_is_one_chunk(pages, expected_text, expected_page):
    assert chunk_pages(pages) == [Chunk(text=expected_text, position=0, page=expected_page)]


@pytest.mark.parametrize("pages", CHUNKING_CASES)
def test_positions_are_consecutive(pages):
    chunks = chunk_pages(pages)
    assert len(chunks) > 1
    assert [c.position for c in chunks] == list(range(len(chunks)))


@pytest.mark.parametrize("pages", CHUNKING_CASES)
def test_chunks_never_cut_a_sentence(pages):
    sentences = [s for s, _ in input_sentences(pages)]
    for chunk in chunk_pages(pages):
        first, last = locate(chunk, sentences)  # raises when the chunk starts or ends mid-sentence
        assert first <= last


@pytest.mark.parametrize("pages", CHUNKING_CASES)
def test_one_sentence_overlap_and_full_coverage(pages):
    for page in {number for number, _ in pages}:  # chunks never span a page break: check page by page
        _check_overlap([(n, t) for n, t in pages if n == page])


def _check_overlap(pages):
    sentences = [s for s, _ in input_sentences(pages)]
    spans = [locate(c, sentences) for c in chunk_pages(pages)]
    assert spans[0][0] == 0, "the first chunk starts with the first sentence"
    assert spans[-1][1] == len(sentences) - 1, "the last chunk ends with the last sentence"
    for (_, last), (first, _) in itertools.pairwise(spans):
        assert first == last, "the last sentence of a chunk is the first of the next one"
    for (first_a, _), (first_b, last_b) in itertools.pairwise(spans):
        assert first_b > first_a and last_b > first_b, "each chunk adds new sentences"


@pytest.mark.parametrize("pages", CHUNKING_CASES)
def test_chunk_sizes(pages):
    for page in {number for number, _ in pages}:
        _check_sizes([(n, t) for n, t in pages if n == page])


def test_chunks_never_span_a_page_break():
    chunks = chunk_pages(PAGED)
    for number, text in PAGED:
        page_sentences = {s for s, _ in input_sentences([(number, text)])}
        for chunk in (c for c in chunks if c.page == number):
            assert all(s in page_sentences for s in split_sentences(chunk.text))
    assert [c.position for c in chunks] == list(range(len(chunks)))


def _check_sizes(pages):
    chunks = chunk_pages(pages)
    sizes = [word_count(c.text) for c in chunks]
    longest = max(word_count(s) for s, _ in input_sentences(pages))
    for size in sizes[:-1]:
        # A chunk may close early (>= MIN_WORDS // 2) only when the next sentence would not fit.
        assert MIN_WORDS // 2 <= size <= MAX_WORDS, sizes
        if longest <= 30:  # with ordinary sentences, chunks are within the nominal bounds
            assert MIN_WORDS <= size <= MAX_WORDS, sizes
    # The last one may be a short tail, or a tail merged into its predecessor (up to 1.2 x MAX_WORDS).
    assert 1 <= sizes[-1] <= MAX_WORDS * 1.2, sizes


@pytest.mark.parametrize("pages", CHUNKING_CASES)
def test_chunk_carries_page_of_first_sentence(pages):
    located = input_sentences(pages)
    sentences = [s for s, _ in located]
    for chunk in chunk_pages(pages):
        first, _ = locate(chunk, sentences)
        assert chunk.page == located[first][1]


def test_pages_are_all_represented():
    pages_seen = {c.page for c in chunk_pages(PAGED)}
    # Page 4 holds only three sentences; it may be merged into a chunk that started on page 3.
    assert {1, 2, 3} <= pages_seen <= {1, 2, 3, 4}


def test_paragraph_end_closes_a_chunk_and_paragraphs_join_with_blank_line():
    first = make_text(10, 9, low=14, high=14)  # 9 x 14 = 126 words: past MIN_WORDS at its end
    second = make_text(11, 9, low=14, high=14).replace("Sentence", "Other")
    chunks = chunk_pages([(None, f"{first}\n\n{second}")])
    assert len(chunks) == 2
    assert chunks[0].text == first
    last_of_first = split_sentences(first)[-1]
    assert chunks[1].text == f"{last_of_first}\n\n{second}"


def test_short_tail_is_merged_into_the_previous_chunk():
    text = make_text(12, 20, low=12, high=12) + " Short tail here."  # 240 words + 3
    chunks = chunk_pages([(None, text)])
    assert len(chunks) == 1
    assert chunks[0].text.endswith("Short tail here.")


def test_overlap_zero_gives_disjoint_chunks():
    pages = LONG_EN
    sentences = [s for s, _ in input_sentences(pages)]
    spans = [locate(c, sentences) for c in chunk_pages(pages, overlap=0)]
    for (_, last), (first, _) in itertools.pairwise(spans):
        assert first == last + 1


# --- the only exception: an overlong "sentence" ------------------------------------------------

OVERLONG = " ".join(f"w{i}" for i in range(1000))  # 1000 words, no punctuation at all


def test_overlong_sentence_is_cut_at_word_boundaries():
    chunks = chunk_pages([(5, OVERLONG)])
    assert len(chunks) > 1
    assert all(c.page == 5 for c in chunks)
    tokens = OVERLONG.split()
    for chunk in chunks:
        words = chunk.text.split()
        assert len(words) < len(tokens)
        start = tokens.index(words[0])
        assert words == tokens[start : start + len(words)], "a chunk is a contiguous run of whole words"
    covered = {w for c in chunks for w in c.text.split()}
    assert covered == set(tokens)


def test_overlong_sentence_between_normal_ones_keeps_the_others_whole():
    before = make_text(13, 5)
    after = make_text(14, 5).replace("Sentence", "After")
    chunks = chunk_pages([(None, f"{before} {OVERLONG}. {after}")])
    assert chunks[0].text.startswith(split_sentences(before)[0])
    assert chunks[-1].text.endswith(split_sentences(after)[-1])
    assert any("w0" in c.text.split() for c in chunks) and any("w999." in c.text.split() for c in chunks)


def test_overlong_sentence_chunks_stay_within_max_words():
    # The cut pieces are MAX_WORDS long; repeating one as overlap would double the chunk.
    sizes = [word_count(c.text) for c in chunk_pages([(None, OVERLONG)])]
    assert max(sizes) <= MAX_WORDS < HARD_MAX_WORDS, sizes


def test_long_sentence_is_not_repeated_as_overlap():
    # A sentence longer than max_words // 2 (but not cut) is not worth repeating in the next chunk.
    first = "Sentence 0 " + " ".join(["region"] * 198) + "."  # 200 words
    second = "Sentence 1 " + " ".join(["market"] * 198) + "."
    tail = make_text(15, 3, low=12, high=12).replace("Sentence", "Next")
    chunks = chunk_pages([(None, f"{first} {second} {tail}")])
    assert [c.text for c in chunks] == [first, f"{second} {tail}"]


# --- headings: a line of their own in the chunk, context and never the answer ---------------------

SOSNOVY_BOR = (
    "Индустриальный парк «Сосновый Бор» открылся 15 марта 2025 года в Калужской области. "
    "Площадь парка составляет 120 гектаров."
)
HEADED_TEXTS = [
    pytest.param(f"Индустриальный парк «Сосновый Бор»\n\n{SOSNOVY_BOR}", id="blank-line-after-heading"),
    pytest.param(f"Индустриальный парк «Сосновый Бор»\n{SOSNOVY_BOR}", id="line-break-after-heading"),
    pytest.param(f"## Индустриальный парк «Сосновый Бор»\n{SOSNOVY_BOR}", id="markdown-heading"),
]


@pytest.mark.parametrize("text", HEADED_TEXTS)
def test_heading_stays_a_line_of_its_own_in_the_chunk(text):
    from index.answering.windows import passage_headings, passage_sentences

    (chunk,) = chunk_pages([(None, text)])
    heading, first = chunk.text.split("\n", 1)[0], passage_sentences(chunk.text)[1]
    assert "Сосновый Бор»" in heading and "открылся" not in heading
    assert first.startswith("Индустриальный парк «Сосновый Бор» открылся 15 марта 2025 года")
    assert passage_sentences(chunk.text) == split_sentences(text)  # the stored sentence vectors follow this list
    assert passage_headings(chunk.text)[:2] == [True, False]


@pytest.mark.parametrize("text", HEADED_TEXTS)
@pytest.mark.parametrize(
    "question",
    ["Когда открылся парк «Сосновый Бор»?", "Индустриальный парк «Сосновый Бор»", "Сколько гектаров в парке?"],
    ids=["when", "the-title-itself", "how-many"],
)
def test_answer_window_never_holds_the_heading(text, question):
    import numpy as np

    from index.answering.windows import PassageTerms, QuestionProfile, analyse_passage, window_by_meaning

    (chunk,) = chunk_pages([(None, text)])
    passage = PassageTerms.of(chunk.text, title="Индустриальный парк «Сосновый Бор»")
    profile = QuestionProfile.build(question, {stem: 1.0 for stem in ("индустриальн", "парк", "соснов", "бор")})
    lexical = analyse_passage(profile, 0, passage).best
    assert lexical is not None and not any(s.heading for s in lexical.sentences)
    vectors = np.eye(len(passage.sentences), dtype=np.float32)  # the heading is the closest "by meaning"
    by_meaning = window_by_meaning(profile, passage, vectors, vectors[0])
    assert by_meaning is not None and ("открылся" in by_meaning.text or "гектаров" in by_meaning.text)
    assert not by_meaning.text.startswith("Индустриальный парк «Сосновый Бор» Индустриальный")


def test_a_passage_of_headings_only_has_no_window():
    import numpy as np

    from index.answering.windows import PassageTerms, QuestionProfile, analyse_passage, window_by_meaning

    passage = PassageTerms.of("Индустриальный парк «Сосновый Бор»\n\nИнвесторам")
    profile = QuestionProfile.build("парк Сосновый Бор", {"парк": 1.0, "соснов": 1.0, "бор": 1.0})
    assert analyse_passage(profile, 0, passage).best is None
    vectors = np.eye(2, dtype=np.float32)
    assert window_by_meaning(profile, passage, vectors, vectors[0]) is None


def test_a_heading_never_ends_a_chunk():
    body = " ".join(f"Sentence number {i} tells about the region and its parks." for i in range(12))
    text = f"{body}\n\nIndustrial parks of the region\n\n{body}"
    chunks = chunk_pages([(None, text)], min_words=50, max_words=200)
    assert len(chunks) >= 2
    assert not any(c.text.endswith("Industrial parks of the region") for c in chunks)
    assert any(c.text.startswith("Industrial parks of the region") or "\n\nIndustrial parks" in c.text for c in chunks)
