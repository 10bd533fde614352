"""Progress displays for long runs: on a terminal one line redrawn in place; elsewhere (a batch
job's log, a pipe) plain lines, one at least every ``EVERY_FRACTION`` of the work or
``EVERY_SECONDS``, whichever comes first, and one at the end."""
from __future__ import annotations

import sys
import time

EVERY_FRACTION = 0.1
EVERY_SECONDS = 60.0


class _Line:
    """A progress bar redrawn in place, ``[####   ]  42.0%`` plus what the subclass adds, or
    plain lines when the stream is not a terminal. ``enabled=False`` shows nothing (``--quiet``)."""

    def __init__(self, stream=None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = True if enabled is None else enabled
        self.plain = not self.stream.isatty()
        self.t0 = time.perf_counter()
        self._shown = (-1.0, -float("inf"))  # (fraction, time) of the last plain line

    def _draw(self, head: str, frac: float, tail: str) -> None:
        if self.plain:
            now = time.perf_counter()
            last_frac, last_t = self._shown
            if frac < 1.0 and frac - last_frac < EVERY_FRACTION and now - last_t < EVERY_SECONDS:
                return
            self._shown = (frac, now)
            self.stream.write(f"{head} {100 * frac:5.1f}% {tail.strip()}\n")
        else:
            self.stream.write(f"\r{head} [{'#' * int(30 * frac):<30}] {100 * frac:5.1f}% {tail} ")
        self.stream.flush()

    @staticmethod
    def _eta(elapsed: float, frac: float) -> float:
        return elapsed / frac - elapsed if frac > 0 else 0.0

    def close(self) -> None:
        if self.enabled and not self.plain:
            self.stream.write("\n")
            self.stream.flush()


class Progress(_Line):
    """Ticks of the member being run: ``progress(ticks_done, ticks_total)``."""

    def __init__(self, members: int, stream=None, enabled: bool | None = None):
        super().__init__(stream, enabled)
        self.members = members
        self.member = 0
        self.t_member = self.t0

    def start_member(self, index: int) -> None:
        self.member = index
        self.t_member = time.perf_counter()
        self._shown = (-1.0, -float("inf"))

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        frac = done / total
        elapsed = time.perf_counter() - self.t_member
        self._draw(f"member {self.member + 1}/{self.members}", frac,
                   f"tick {done}/{total}  {done / max(elapsed, 1e-9):,.0f} ticks/s  eta {self._eta(elapsed, frac):5.1f}s")


class TaskProgress(_Line):
    """Ensemble progress: finished tasks out of all, with the time left."""

    def __init__(self, total: int, stream=None, enabled: bool | None = None):
        super().__init__(stream, enabled)
        self.total = total

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        frac = done / total
        elapsed = time.perf_counter() - self.t0
        self._draw(f"tasks {done}/{total}", frac, f"elapsed {elapsed:6.1f}s  eta {self._eta(elapsed, frac):6.1f}s")
