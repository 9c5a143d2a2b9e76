"""The runtime's primitives: atomic words and notes.

Python has no atomic instructions, so each `Atomic` carries a lock of its
own and every operation on it (load, store, add, CAS) takes that lock: a
lock per atomic word, which makes each operation atomic with respect to
the others on the same word, as `runtime/internal/atomic` does in Go.
A `Note` is the runtime's one-shot sleep and wake-up of an M
(runtime2.go `note`: notesleep, notewakeup, noteclear).
"""

from __future__ import annotations

import threading
from typing import Any


class Atomic:
    """An atomic word (sched.nmspinning, pp.runqhead, pp.runnext, pp.status...)."""

    __slots__ = ("_v", "_mu")

    def __init__(self, v: Any = 0):
        self._v = v
        self._mu = threading.Lock()

    def load(self) -> Any:
        with self._mu:
            return self._v

    def store(self, v: Any) -> None:
        with self._mu:
            self._v = v

    def add(self, delta: int) -> int:
        """Xadd: add and return the new value."""
        with self._mu:
            self._v += delta
            return self._v

    def cas(self, old: Any, new: Any) -> bool:
        """CompareAndSwap: store `new` if the word holds `old`."""
        with self._mu:
            if self._v != old:
                return False
            self._v = new
            return True

    def swap(self, new: Any) -> Any:
        with self._mu:
            old, self._v = self._v, new
            return old

    def save(self) -> Any:
        return self.load()

    def restore(self, v: Any) -> None:
        self.store(v)

    def __repr__(self) -> str:
        return f"Atomic({self._v!r})"


class Note:
    """A one-shot wake-up: an M sleeps on it in stopm until startm wakes it."""

    __slots__ = ("_ev",)

    def __init__(self) -> None:
        self._ev = threading.Event()

    def sleep(self, timeout: float | None = None) -> bool:
        """notesleep (with a timeout, so that a stopping run is noticed)."""
        return self._ev.wait(timeout)

    def wakeup(self) -> None:
        self._ev.set()

    def clear(self) -> None:
        self._ev.clear()
