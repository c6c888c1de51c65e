"""Producer id allocation: ids are never handed out twice, even across restarts.

Ids are reserved in blocks; the end of the current block is persisted (atomically) before any
id from it is used, so after a crash the next block starts past every id that may have been
given out. A restart therefore skips the unused rest of a block, as Kafka's does.
"""

from __future__ import annotations

from pathlib import Path

from kpy.storage.files import atomic_write

BLOCK_SIZE = 1000


class ProducerIdManager:
    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / "kpy-producer-ids"
        self._next = 0
        self._block_end = 0

    def load_sync(self) -> None:
        if self.path.exists():
            text = self.path.read_text().strip()
            if text:
                self._next = self._block_end = int(text)

    def next_id(self) -> int:
        if self._next >= self._block_end:
            self._block_end = self._next + BLOCK_SIZE
            atomic_write(self.path, f"{self._block_end}\n".encode())
        pid = self._next
        self._next += 1
        return pid

    def statistics(self) -> dict[str, int]:
        return {"next": self._next, "block_end": self._block_end}
