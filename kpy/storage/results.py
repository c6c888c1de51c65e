"""What Log.append and Log.read return."""

from __future__ import annotations

import os
from dataclasses import dataclass

from kpy.protocol.primitives import FileRegion


@dataclass(slots=True)
class AppendResult:
    base_offset: int
    last_offset: int
    log_append_time_ms: int
    log_start_offset: int
    duplicate: bool = False


class FileRecords:
    """File regions of one or more segments; ``len()`` is the byte count."""

    __slots__ = ("regions", "_size")

    def __init__(self, regions: list[FileRegion]) -> None:
        self.regions = regions
        self._size = sum(r.length for r in regions)

    def __len__(self) -> int:
        return self._size

    def chunks(self) -> list[FileRegion]:
        return self.regions

    def read(self) -> bytes:
        """The bytes themselves (for tests and internal readers, not the fetch path)."""
        return b"".join(os.pread(r.fd, r.length, r.position) for r in self.regions)


@dataclass(slots=True)
class ReadResult:
    records: FileRecords
    first_offset: int
    high_watermark: int
    log_start_offset: int
