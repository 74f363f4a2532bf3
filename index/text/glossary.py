"""A Russian↔English glossary of the agency's domain, for questions asked across languages.

Without a multilingual model, "Сколько индустриальных парков в Калужской области?" shares no
stem with an English article about Kaluga Region's industrial parks. Each question stem is
expanded with its translations' stems, so lexical search and coverage see the same concept in
either language. The word list (glossary_ru_en.tsv) is data: extend it freely.
"""

from __future__ import annotations

import functools
from importlib import resources

from index.text.tokens import stem_word


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, frozenset[str]]:
    """stem -> stems of its translations, both directions; loaded once, it never changes."""
    pairs: dict[str, set[str]] = {}
    text = resources.files("index.text").joinpath("glossary_ru_en.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ru, _, en = line.partition("\t")
        ru_stem, en_stem = stem_word(ru.strip().lower().replace("ё", "е")), stem_word(en.strip().lower())
        if ru_stem and en_stem:
            pairs.setdefault(ru_stem, set()).add(en_stem)
            pairs.setdefault(en_stem, set()).add(ru_stem)
    return {k: frozenset(v) for k, v in pairs.items()}


def translations(stem: str) -> frozenset[str]:
    """The stems of the other language that mean the same (empty when the word is not listed)."""
    return _table().get(stem, frozenset())


def alternatives(stems: list[str]) -> dict[str, frozenset[str]]:
    """Each question stem with itself and its translations."""
    return {s: frozenset({s}) | translations(s) for s in stems}
