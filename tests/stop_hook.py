"""Run `investbot ARGS…` with the model's passage encoding held at a gate, so a test can send a signal at a
fixed point: `python -m tests.stop_hook ARGS…`.

Environment: STOP_HOOK_DIR (a folder), STOP_HOOK_CALL (which passage call to hold, from 1). When that call
comes, the hook creates STOP_HOOK_DIR/reached and waits until the test creates STOP_HOOK_DIR/release; the
call then encodes as usual. Nothing sleeps a fixed time: the test reacts to files, the process to signals.
Production code has no test switch: the launcher wraps Embedder.encode_passages before the CLI starts.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

GATE_TIMEOUT = 120.0  # a test that never releases gives up instead of hanging


def install(folder: Path, call: int) -> None:
    from index.dense.model import Embedder

    original = Embedder.encode_passages
    calls = 0
    lock = threading.Lock()

    def gated(self, texts, show_progress: bool = False):
        nonlocal calls
        with lock:
            calls += 1
            this = calls
        if this == call:
            (folder / "reached").write_text(str(this))
            deadline = time.monotonic() + GATE_TIMEOUT
            while not (folder / "release").exists() and time.monotonic() < deadline:
                time.sleep(0.02)  # a signal interrupts it; its handler runs here (the CLI embeds in the main thread)
        return original(self, texts, show_progress=show_progress)

    Embedder.encode_passages = gated  # type: ignore[method-assign]


def main() -> None:
    install(Path(os.environ["STOP_HOOK_DIR"]), int(os.environ.get("STOP_HOOK_CALL", "1")))
    from bot.cli.main import cli

    cli(args=sys.argv[1:], prog_name="investbot")


if __name__ == "__main__":
    main()
