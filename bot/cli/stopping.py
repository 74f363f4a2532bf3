"""Ctrl-C and SIGTERM for the `investbot` commands: keep what is done, say how to go on, exit 130 or 143.

Every command that writes commits as it goes (a document at a time, embedding a batch or a few texts at
a time), so an interrupted one loses at most what it was working on. While a command embeds, the first
signal asks the model to stop between two small calls (the library's `should_stop`): the chunks encoded
so far are committed and the command ends with one line, e.g. "Interrupted: 12 of 40 chunks embedded;
run `investbot reindex` to finish." Anywhere else (reading files, fetching pages) and on a second
signal it stops at once, like Ctrl-C always did: the document being written is rolled back whole.

Exit status: 130 after Ctrl-C (SIGINT), 143 after SIGTERM, as a shell reports a process those signals
end, so a script can tell an interrupted run from a finished one (0) or a failed one (1). The bot
(`serve`, `run`) is the exception: a signal is how it is meant to end, so it exits 0 (PTB handles the
signals while it runs; this module only while it indexes knowledge/ before).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import click

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number, as shells report it
DEFAULT_RESUME = "what was finished is kept; run the command again to continue"


class Interrupted(click.ClickException):
    """A command ended by a signal: one line (no "Error:"), exit status 130 / 143 (0 for the bot)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares a class-wide default

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


class StopRequest:
    """The signal a command received, if any; called, says whether to stop (a `should_stop` for the library).

    `resume` is the command's own "how to continue" (it may change as the command goes on), and `progress`
    what it has done so far, both used in the line it ends with.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.soft = False  # inside gently(): the first signal only asks to stop
        self.resume: str | Callable[[], str] = DEFAULT_RESUME  # a callable when it counts what is done
        self.bot = False  # serve/run: a signal is the normal end (exit 0)

    def __call__(self) -> bool:
        return self.signum is not None

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        if self.soft and first:
            click.echo("Stopping: committing what is embedded (press Ctrl-C again to stop at once) …", err=True)
            return
        raise KeyboardInterrupt

    @contextmanager
    def gently(self) -> Iterator[StopRequest]:
        """Within it, the first signal is only recorded (the work asks `self()` and stops cleanly)."""
        self.soft = True
        try:
            yield self
        finally:
            self.soft = False

    def interrupted(self) -> Interrupted:
        """The exception a command ends with after a signal: "Interrupted: <how to continue>."."""
        signum = self.signum if self.signum is not None else signal.SIGINT
        status = 0 if self.bot else EXIT_STATUS.get(signal.Signals(signum), 128 + signum)
        resume = self.resume() if callable(self.resume) else self.resume
        return Interrupted(f"Interrupted: {resume}.", status)


@contextmanager
def handling_signals(request: StopRequest) -> Iterator[StopRequest]:
    """Route SIGINT and SIGTERM to `request` for the length of a command (main thread only: elsewhere,
    as in a test runner's worker, the handlers in place are left alone)."""
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {sig: signal.signal(sig, request.handle) for sig in SIGNALS}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
