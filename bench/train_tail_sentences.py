"""Train the tail pass's sentence branch (its last layers) to give each sentence's own vector.

The tail pass (index.dense.late.late_vectors with local_from=TAIL_FROM) reads the chunk whole for the first
layers, so the chunk vector is exact, then runs the last layers twice: over the whole chunk and, for the
sentences, within each sentence. Those sentence vectors come out at cosine ~0.96 to the sentences embedded
apart, and that costs answers (docs/quality.md). Here the sentence branch's layers are fine-tuned, the first
ones frozen (their states are computed once with the numpy runtime), to minimise 1 - cosine to each sentence's
separately embedded vector. The chunk branch keeps the bundled layers, so the chunk vector stays exact.

Data: texts made only of XQuAD articles 0-23 (paragraphs, and runs of their sentences recombined, with and
without a title) and the seed articles; checked on the paragraphs of articles 24-47, never seen.
Needs torch (the `train` extra); the result is an "e5-overlay/1" file the numpy runtime reads as the tail
pass's sentence branch (`python bench/late_chunking.py --ways tail --sentence-branch FILE` measures it).

    python bench/train_tail_sentences.py [--texts 1200] [--epochs 4] [--lr 1e-4] [--query-weight 0]
        [--out /tmp/tail_sentences.npz]
        [--init OVERLAY]    # go on training an earlier run's result
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.train_parted_chunk import (  # noqa: E402
    save_branch,
    seed_texts,
    texts_of,
    torch_layer,
    trainable,
    write_result,
    xquad_halves,
)
from index.answering.windows import passage_sentences  # noqa: E402
from index.dense.late import TAIL_FROM, _sentence_of, _span_rows, sentence_spans  # noqa: E402
from index.dense.runtime import Runtime  # noqa: E402
from index.dense.tokenizer import Prefix  # noqa: E402
from index.dense.weights import apply_overlay, load_overlay  # noqa: E402
from index.evaluation import find_eval_dir  # noqa: E402


def features(base: Runtime, frozen: Runtime, items: list[tuple[str, str]], local_from: int):
    """Per text that fits one window: (states after the whole layers, groups, per-sentence rows, targets)."""
    config = base.config
    out = []
    for start in range(0, len(items), 32):
        batch = items[start : start + 32]
        texts = [f"{t}\n\n{x}" if t else x for t, x in batch]
        keep = []
        for e, (_, x) in zip(texts, batch, strict=True):
            sentences = passage_sentences(x)
            tokens = base.tokenize(e, Prefix.PASSAGE)
            if not sentences or len(tokens) > config.max_positions - 2:
                continue
            rows = _span_rows(tokens, sentence_spans(e, sentences, len(e) - len(x)))
            pairs = [(s, r + 1) for s, r in zip(sentences, rows, strict=True) if r.size]  # +1: the <s> row
            if not pairs:
                continue
            groups = np.concatenate([[-1], _sentence_of(len(tokens), rows), [-1]])
            ids = np.concatenate([[config.bos_id], tokens.ids, [config.eos_id]]).astype(np.int64)
            keep.append((ids, groups, pairs))
        if not keep:
            continue
        states = frozen.forward_ids([ids for ids, _, _ in keep])
        flat = [s for _, _, pairs in keep for s, _ in pairs]
        targets = base.passage(flat)
        at = 0
        for (_, groups, pairs), state in zip(keep, states, strict=True):
            rows = [r for _, r in pairs]
            out.append((state.astype(np.float16), groups, rows, targets[at : at + len(pairs)]))
            at += len(pairs)
    return out


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--test", type=int, default=0, help="test paragraphs (0: all of articles 24-47)")
    parser.add_argument(
        "--query-weight", type=float, default=0.0, help="also keep each sentence's cosines to questions (0: off)"
    )
    parser.add_argument("--init", type=Path, default=None, help="go on from this overlay (an earlier run's --out)")
    parser.add_argument("--local-from", type=int, default=TAIL_FROM)
    parser.add_argument("--out", type=Path, default=Path("/tmp/tail_sentences.npz"))
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "tail_sentences.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    folder = find_eval_dir(ROOT)
    if folder is None:
        sys.exit("no XQuAD data: ../shared/eval/xquad")
    base = Runtime.load()
    frozen = Runtime(base.weights, num_layers=args.local_from, tokenizer=base.tokenizer)
    train_p, test_p, train_q, test_q = xquad_halves(folder)
    # The questions, as the model reads them: what a sentence vector must keep is its cosine to these.
    bank = {"train": torch.from_numpy(base.query(train_q)), "test": torch.from_numpy(base.query(test_q))}
    seeds = seed_texts()
    started = time.perf_counter()
    train = features(base, frozen, texts_of(train_p, seeds, args.texts, seed=11), args.local_from)
    test_p = test_p[:: max(1, len(test_p) // args.test)] if args.test else test_p
    test = features(base, frozen, [(p.title.replace("_", " "), p.text) for p in test_p], args.local_from)
    print(f"{len(train)} train / {len(test)} test texts, states in {time.perf_counter() - started:.0f} s", flush=True)

    config = base.config
    start_from = base.weights if args.init is None else apply_overlay(base.weights, load_overlay(args.init))
    params = trainable(start_from, range(args.local_from, config.num_layers))

    def cosines(items, queries=None):
        """Cosine of each sentence's pooled local-branch state to its target, for a batch of texts; with
        `queries`, also how far its cosines to them move (squared, weighted towards the nearest questions)."""
        longest = max(s.shape[0] for s, _, _, _ in items)
        x = torch.zeros(len(items), longest, config.hidden_size)
        allowed = torch.zeros(len(items), longest, longest, dtype=torch.bool)
        for i, (s, g, _, _) in enumerate(items):
            n = s.shape[0]
            x[i, :n] = torch.from_numpy(s.astype(np.float32))
            gt = torch.from_numpy(g)
            allowed[i, :n, :n] = (gt[:, None] == gt[None, :]) | (gt[None, :] == -1)
            allowed[i, n:, :] = True  # padding rows: anything, never pooled (avoids all -inf rows)
        for layer in range(args.local_from, config.num_layers):
            x = torch_layer(params, config, x, allowed, layer)
        got, want = [], []
        for i, (_, _, rows, targets) in enumerate(items):
            for r in rows:
                got.append(x[i, torch.from_numpy(r)].mean(0))
            want.append(torch.from_numpy(targets))
        got_t = torch.nn.functional.normalize(torch.stack(got), dim=-1)
        want_t = torch.cat(want)
        cos = (got_t * want_t).sum(-1)
        if queries is None:
            return cos
        exact, moved = want_t @ queries.T, got_t @ queries.T
        near = torch.softmax(exact / 0.02, dim=-1)
        drift = (moved - exact) ** 2
        return cos, (near * drift).sum(-1) + drift.mean(-1)

    def evaluate(items) -> tuple[float, float, float]:
        """Mean and 5th-percentile cosine to the sentences' own vectors, and the RMS move of their cosines to
        the held-out questions."""
        with torch.no_grad():
            parts = [cosines(items[i : i + 16], bank["test"]) for i in range(0, len(items), 16)]
        cos = torch.cat([c for c, _ in parts]).numpy()
        drift = torch.cat([d for _, d in parts]).numpy()
        return float(cos.mean()), float(np.percentile(cos, 5)), float(np.sqrt(drift.mean() / 2))

    before = evaluate(test)
    print("test before (cosine mean, 5th percentile, RMS cosine move to questions)", before, flush=True)
    optimiser = torch.optim.AdamW(params.values(), lr=args.lr, weight_decay=0.0)
    order = list(range(len(train)))
    rng = random.Random(3)
    log = []
    for epoch in range(args.epochs):
        rng.shuffle(order)
        losses = []
        for start in range(0, len(order), args.batch):
            cos, drift = cosines([train[i] for i in order[start : start + args.batch]], bank["train"])
            loss = (1 - cos).mean() + args.query_weight * drift.mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        after = evaluate(test)
        log.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "test_cosine": after})
        print(log[-1], flush=True)
        size = save_branch(args.out, params, config, {"local_from": args.local_from})  # each epoch: a usable file
    write_result(args.json, len(train), len(test), before, log, size, started)


if __name__ == "__main__":
    main()
