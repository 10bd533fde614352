"""A one-line progress display for long runs, shown only on a terminal (stderr is a tty)."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, members: int, stream=None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.members = members
        self.member = 0
        self.t0 = self.t_member = time.perf_counter()

    def start_member(self, index: int) -> None:
        self.member = index
        self.t_member = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        frac = done / total
        bar = "#" * int(30 * frac)
        elapsed = time.perf_counter() - self.t_member
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        self.stream.write(f"\rmember {self.member + 1}/{self.members} [{bar:<30}] {100 * frac:5.1f}% "
                          f"tick {done}/{total}  {done / max(elapsed, 1e-9):,.0f} ticks/s  eta {eta:5.1f}s ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class TaskProgress:
    """Ensemble progress: finished tasks out of all, with the time left."""

    def __init__(self, total: int, stream=None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total
        self.t0 = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        frac = done / total
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        self.stream.write(f"\rtasks {done}/{total} [{'#' * int(30 * frac):<30}] {100 * frac:5.1f}% "
                          f"elapsed {elapsed:6.1f}s  eta {eta:6.1f}s ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
