"""A job a server runs in a thread of its own, every so many seconds, until
it stops: a round that fails is logged, and the next one tries again."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Every:
    def __init__(self, name: str, round_: Callable[[], object], seconds: float) -> None:
        self.name, self.round, self.seconds = name, round_, seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.round()
            except Exception:
                log.exception("%s: a round failed; the next one tries again", self.name)
            self._stopping.wait(self.seconds)

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
