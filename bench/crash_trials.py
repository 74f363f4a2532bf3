"""SIGKILL trials against the real `investbot ingest` process, with or without the embedding model.

Each trial starts `investbot ingest FOLDER` on a fresh data dir, kills it with SIGKILL at a random
moment, runs `investbot check` (must say consistent), then runs the ingest again (must complete
with every document whole). With --model the tiny 384-d model is used, so the FAISS file is being
written when some kills land. The tests run the same trials in-process at a smaller scale
(tests/test_crash.py); this script is the full-process version for docs/reliability.md.

    python bench/crash_trials.py --trials 30 [--model]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
INVESTBOT = str(ROOT / ".venv" / "bin" / "investbot")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--docs", type=int, default=80)
    parser.add_argument("--model", action="store_true", help="use the tiny 384-d model (dense path, FAISS)")
    args = parser.parse_args()

    from tests.test_crash import make_folder

    rng = random.Random(7)
    results = {
        "trials": args.trials,
        "documents": args.docs,
        "model": args.model,
        "killed": 0,
        "check_failures": 0,
        "rerun_failures": 0,
        "whole_after_rerun": 0,
    }
    with tempfile.TemporaryDirectory(prefix="investbot-crash-") as tmp:
        tmp = Path(tmp)
        folder = make_folder(tmp / "docs", args.docs)
        env = dict(os.environ, HF_HUB_OFFLINE="1", INVESTBOT_MODEL="none")
        if args.model:
            from tests.tiny_model import build_tiny_model

            texts = [p.read_text(encoding="utf-8") for p in folder.iterdir()]
            env["INVESTBOT_MODEL"] = str(build_tiny_model(tmp / "model", texts, dim=384, max_seq_length=128))

        def run(data: Path, *command: str, **kw):
            return subprocess.run(
                [INVESTBOT, "--data-dir", str(data), *command], env=env, capture_output=True, text=True, **kw
            )

        # How long a full ingest takes, to spread the kills over it.
        t0 = time.perf_counter()
        run(tmp / "timing", "ingest", str(folder), check=True)
        full = time.perf_counter() - t0
        expected = json.loads(run(tmp / "timing", "docs", "--json").stdout)
        expected = {d["source"]: d["chunks"] for d in expected}
        for trial in range(args.trials):
            data = tmp / f"data{trial}"
            process = subprocess.Popen(
                [INVESTBOT, "--data-dir", str(data), "ingest", str(folder)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.2, full))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                results["killed"] += 1
            process.wait()
            if run(data, "check").returncode != 0:
                results["check_failures"] += 1
            if run(data, "ingest", str(folder)).returncode != 0:
                results["rerun_failures"] += 1
            docs = json.loads(run(data, "docs", "--json").stdout or "[]")
            if {d["source"]: d["chunks"] for d in docs} == expected and run(data, "check").returncode == 0:
                results["whole_after_rerun"] += 1
            print(f"trial {trial + 1}/{args.trials}: {results}", file=sys.stderr, flush=True)
    results["full_ingest_s"] = round(full, 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
