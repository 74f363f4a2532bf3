"""Sentence-aware chunking.

Chunks are the unit of retrieval and of citation, so they never cut a sentence: an answer quoted
from a chunk always reads as the document wrote it. A one-sentence overlap keeps a fact that spans
a boundary findable from either side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index.text.tokens import Sentence, split_marked, word_count

MIN_WORDS = 100
MAX_WORDS = 250
# A "sentence" longer than this (tables, lists without punctuation) is cut at word boundaries,
# the only case where a chunk may end inside a sentence.
HARD_MAX_WORDS = 400


@dataclass(frozen=True)
class Chunk:
    text: str
    position: int
    page: int | None


@dataclass(frozen=True)
class _Unit:
    """A sentence (or a piece of an overlong one) as chunking places it."""

    text: str
    paragraph_end: bool
    heading: bool


def _pieces(sentence: Sentence) -> list[Sentence]:
    tokens = sentence.text.split()
    if len(tokens) <= HARD_MAX_WORDS:
        return [sentence]
    starts = range(0, len(tokens), MAX_WORDS)
    return [
        Sentence(" ".join(tokens[i : i + MAX_WORDS]), line_end=sentence.line_end and i == starts[-1], heading=False)
        for i in starts
    ]


def chunk_pages(
    pages: Sequence[tuple[int | None, str]],
    *,
    min_words: int = MIN_WORDS,
    max_words: int = MAX_WORDS,
    overlap: int = 1,
) -> list[Chunk]:
    """Group sentences into chunks of about min_words..max_words words.

    A chunk closes when adding the next sentence would pass max_words (once it holds at least
    min_words) or at a paragraph end past min_words; the next chunk repeats the last `overlap`
    sentences. A short tail is merged into the previous chunk when that stays near max_words.
    Chunks never span a page break, so a source can always name the page an answer is on.
    """
    chunks: list[Chunk] = []
    for page, text in pages:
        for group_text in _chunk_texts(text, min_words=min_words, max_words=max_words, overlap=overlap):
            chunks.append(Chunk(text=group_text, position=len(chunks), page=page))
    return chunks


def _chunk_texts(text: str, *, min_words: int, max_words: int, overlap: int) -> list[str]:
    sentences: list[_Unit] = []
    for paragraph in text.split("\n\n"):
        parts = [p for s in split_marked(paragraph) for p in _pieces(s)]
        for i, sentence in enumerate(parts):
            sentences.append(_Unit(sentence.text, i == len(parts) - 1, sentence.heading))
    if not sentences:
        return []

    groups: list[list[int]] = []
    current: list[int] = []
    carried = 0  # how many sentences at the start of `current` repeat the previous chunk
    words = 0

    def close() -> None:
        nonlocal current, carried, words
        groups.append(current)
        current = _carry(sentences, current, overlap, max_words)
        carried = len(current)
        words = sum(word_count(sentences[j].text) for j in current)

    i = 0
    while i < len(sentences):
        n = word_count(sentences[i].text)
        if len(current) > carried and words + n > max_words and words >= min_words // 2:
            close()
            continue
        current.append(i)
        words += n
        i += 1
        # a heading never ends a chunk: it belongs with the text under it
        if (
            sentences[i - 1].paragraph_end
            and not sentences[i - 1].heading
            and words >= min_words
            and i < len(sentences)
        ):
            close()
    if len(current) > carried:
        fresh = current[carried:]
        tail_words = sum(word_count(sentences[j].text) for j in fresh)
        merged = groups[-1] + fresh if groups else None
        if (
            merged
            and tail_words < min_words // 2
            and sum(word_count(sentences[j].text) for j in merged) <= max_words * 1.2
        ):
            groups[-1] = merged
        else:
            groups.append(current)

    return [_join(sentences, group) for group in groups]


def _carry(sentences: list[_Unit], current: list[int], overlap: int, max_words: int) -> list[int]:
    """The sentences the next chunk repeats; a very long one (a cut table) is not worth repeating."""
    carried = current[-overlap:] if overlap else []
    if sum(word_count(sentences[j].text) for j in carried) > max_words // 2:
        return []
    return carried


def _join(sentences: list[_Unit], group: list[int]) -> str:
    """Sentences of one paragraph are joined by a space, paragraphs by a blank line; a heading keeps its line break,
    so it stays a line of its own in the chunk (split_marked finds it again there) instead of being glued to the
    sentence under it. Other line breaks inside a paragraph are joined as before ("Jan-Olof Jacke" + "President,
    AstraZeneca AB" stays one byline), so chunks without headings keep their text and their stored vectors."""
    out = []
    for k, j in enumerate(group):
        out.append(sentences[j].text)
        if k < len(group) - 1:
            unit = sentences[j]
            out.append("\n\n" if unit.paragraph_end else "\n" if unit.heading else " ")
    return "".join(out)
