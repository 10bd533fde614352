"""One-line progress displays for long runs, shown only on a terminal (stderr is a tty)."""
from __future__ import annotations

import sys
import time


class _Line:
    """A progress bar redrawn in place: ``[####   ]  42.0%`` plus what the subclass adds."""

    def __init__(self, stream=None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.t0 = time.perf_counter()

    def _draw(self, head: str, frac: float, tail: str) -> None:
        self.stream.write(f"\r{head} [{'#' * int(30 * frac):<30}] {100 * frac:5.1f}% {tail} ")
        self.stream.flush()

    @staticmethod
    def _eta(elapsed: float, frac: float) -> float:
        return elapsed / frac - elapsed if frac > 0 else 0.0

    def close(self) -> None:
        if self.enabled:
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
