"""`check` and `check --repair`: is the store whole, and does the vector index match it?

The store's own rules (every chunk has its search entry, no orphans, no half-present document,
SQLite and FTS5 integrity) come from Store.check(); here they are joined with the vector side
(every chunk has a vector from the current model, the FAISS ids are the stored vectors' ids) and,
on request, repaired: the store's repair, then embedding what lacks a vector and a fresh index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from index.dense.sync import VectorSync
from index.store.database import Store
from index.text.tokens import terms


@dataclass
class CheckReport:
    problems: dict[str, list[int]]  # rule -> ids that break it (an empty list: the rule holds)
    fixed: dict[str, int] = field(default_factory=dict)  # repair step -> how many things it fixed
    ok: bool = field(init=False)  # every rule holds

    def __post_init__(self) -> None:
        self.ok = not any(self.problems.values())


def check(store: Store, vectors: VectorSync, repair: bool = False) -> CheckReport:
    """The store's consistency rules, and the vector index against the store.

    The vector index is derived: it is rebuilt whenever stale, so it is checked after being
    brought up to date. repair=True removes orphans and half-present documents, rebuilds the
    search index from the chunks, embeds chunks without vectors and rebuilds the vector index.
    """
    fixed: dict[str, int] = {}
    problems = store.check()
    if repair and any(problems.values()):
        fixed = store.repair(_fts_text)
        problems = store.check()
    if vectors.embedder is not None:
        model = vectors.embedder.name
        if repair:
            fixed["chunks embedded"] = vectors.embed_missing()
        problems["chunks without a vector"] = [cid for cid, _ in store.chunks_without_vectors(model)]
        index = vectors.index(rebuild=repair)
        stored = {cid for ids, _ in store.iter_vectors(model) for cid in ids.tolist()}
        indexed = set(index.ids().tolist()) if index is not None else set()  # None only without a model
        problems["vector index ids that differ from the stored vectors"] = sorted(stored ^ indexed)
    return CheckReport(problems, fixed)


def _fts_text(_chunk_id: int, text: str, title: str) -> tuple[str, str]:
    """The stems the search index holds for a chunk and its title (stemming is not the store's business)."""
    return " ".join(terms(text)), " ".join(terms(title))
