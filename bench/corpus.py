"""Deterministic benchmark corpora of real text: 1k, 10k and 100k chunks, with known answers.

Real sentences, recombined: XQuAD paragraphs (English and Russian) and the seed articles are cut
into sentences, and filler documents are runs of consecutive sentences from random paragraphs.
A query set of XQuAD questions is planted: each question's own paragraph appears exactly once, and
none of its sentences is used as filler, so every question has exactly one right chunk.

    python bench/corpus.py 10000      # prints a summary of the 10k corpus
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.evaluation import find_eval_dir, load_xquad  # noqa: E402
from index.readers import read_document  # noqa: E402
from index.text.tokens import split_sentences  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
QUERIES_PER_LANGUAGE = 100
MIN_WORDS, MAX_WORDS = 110, 230  # one chunk per document (the chunker's bounds are 100..250)


@dataclass(frozen=True)
class Doc:
    source: str
    title: str
    text: str


@dataclass(frozen=True)
class Query:
    question: str
    language: str
    gold: str  # the source of the one document that answers it
    answers: tuple[str, ...]


@dataclass
class Corpus:
    docs: list[Doc]
    queries: list[Query]


def _sources(eval_dir: Path):
    paragraphs = {}
    questions = {}
    for lang in ("en", "ru"):
        ps, qs = load_xquad(eval_dir / "xquad" / f"xquad.{lang}.json")
        paragraphs[lang] = ps
        questions[lang] = qs
    seeds = []
    for path in sorted((ROOT / "knowledge").glob("*.md")):
        seeds.append("\n\n".join(p.text for p in read_document(path).pages))
    return paragraphs, questions, seeds


def build_corpus(n_chunks: int, seed: int = 7, eval_dir: Path | None = None) -> Corpus:
    eval_dir = eval_dir or find_eval_dir(ROOT)
    if eval_dir is None:
        raise SystemExit("XQuAD not found: ../shared/eval/xquad is needed to build benchmark corpora")
    rng = random.Random(seed)
    paragraphs, questions, seeds = _sources(eval_dir)

    docs: list[Doc] = []
    queries: list[Query] = []
    planted: set[tuple[str, str]] = set()
    for lang in ("en", "ru"):
        by_key = {p.key: p for p in paragraphs[lang]}
        pool = questions[lang][:: max(1, len(questions[lang]) // QUERIES_PER_LANGUAGE)][:QUERIES_PER_LANGUAGE]
        for q in pool:
            source = f"bench:{lang}:{q.paragraph}"
            if (lang, q.paragraph) not in planted:
                planted.add((lang, q.paragraph))
                p = by_key[q.paragraph]
                docs.append(Doc(source, p.title.replace("_", " "), p.text))
            queries.append(Query(q.text, lang, source, tuple(q.answers)))

    # Filler: runs of consecutive sentences from paragraphs that answer no query.
    blocks: list[list[str]] = [split_sentences(text) for text in seeds]
    for lang in ("en", "ru"):
        blocks += [split_sentences(p.text) for p in paragraphs[lang] if (lang, p.key) not in planted]
    blocks = [b for b in blocks if b]
    number = 0
    while len(docs) < n_chunks:
        sentences: list[str] = []
        words = 0
        target = rng.randint(MIN_WORDS, MAX_WORDS)
        while words < target:
            block = blocks[rng.randrange(len(blocks))]
            start = rng.randrange(len(block))
            for sentence in block[start : start + rng.randint(2, 6)]:
                n = len(sentence.split())
                if words + n > MAX_WORDS:
                    break
                sentences.append(sentence)
                words += n
            if words + 5 > MAX_WORDS:
                break
        if not sentences:
            continue
        number += 1
        docs.append(Doc(f"bench:filler:{number}", f"Digest {number}", " ".join(sentences)))
    rng.shuffle(docs)
    return Corpus(docs[:n_chunks], queries)


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    corpus = build_corpus(size)
    words = [len(d.text.split()) for d in corpus.docs]
    print(
        f"{len(corpus.docs)} documents, {sum(words)} words ({min(words)}..{max(words)} per document), "
        f"{len(corpus.queries)} queries"
    )
