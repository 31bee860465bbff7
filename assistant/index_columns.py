"""Memory-mapped rows of the index's JSONL files, so a loaded index of a million chunks does not
hold a million Python objects.

A JSONL file is written with the byte offset of every line (``<name>.offsets.npy``); reading
row ``i`` parses one line of the memory-mapped file. Only the rows a question touches are read,
and the operating system keeps the hot pages in its cache.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Generic, TypeVar, overload

import numpy as np
from pydantic import BaseModel

Row = TypeVar("Row", bound=BaseModel)


def write_jsonl(path: Path, rows: Iterable[BaseModel | dict]) -> np.ndarray:
    """Write one JSON object per line; returns the byte offsets of the lines plus the end (n + 1)."""
    offsets = [0]
    with path.open("wb") as handle:
        for row in rows:
            text = row.model_dump_json() if isinstance(row, BaseModel) else json.dumps(row, ensure_ascii=False)
            data = text.encode("utf-8") + b"\n"
            handle.write(data)
            offsets.append(offsets[-1] + len(data))
    return np.asarray(offsets, dtype=np.int64)


def line_offsets(path: Path) -> np.ndarray:
    """Offsets of every line of an existing JSONL file (for files written without them)."""
    offsets = [0]
    with path.open("rb") as handle:
        for line in handle:
            offsets.append(offsets[-1] + len(line))
    return np.asarray(offsets, dtype=np.int64)


class JsonlRows(Sequence[Row], Generic[Row]):
    """A read-only sequence of pydantic rows backed by a memory-mapped JSONL file."""

    def __init__(self, path: Path, offsets: np.ndarray, model: type[Row]) -> None:
        if offsets.ndim != 1 or len(offsets) == 0 or offsets[0] != 0:
            raise ValueError(f"bad line offsets for {path}")
        size = path.stat().st_size
        if int(offsets[-1]) != size:
            raise ValueError(f"line offsets of {path} end at {int(offsets[-1])}, the file has {size} bytes")
        self.path, self._offsets, self._model = path, offsets, model
        if size:
            with path.open("rb") as handle:
                self._data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        else:
            self._data = b""

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(f"row {index} of {count} in {self.path.name}")
        return self._model.model_validate_json(self._data[self._offsets[index] : self._offsets[index + 1]])

    def __iter__(self) -> Iterator[Row]:
        start = 0
        for end in self._offsets[1:]:
            yield self._model.model_validate_json(self._data[start:end])
            start = end


class JsonlMapping(Mapping[str, Row], Generic[Row]):
    """A read-only mapping from key to row over ``JsonlRows`` (the keys are held in memory)."""

    def __init__(self, rows: JsonlRows[Row], keys: Sequence[str]) -> None:
        if len(keys) != len(rows):
            raise ValueError(f"{len(keys)} keys for {len(rows)} rows of {rows.path.name}")
        self._rows = rows
        self._position = {key: i for i, key in enumerate(keys)}

    def __getitem__(self, key: str) -> Row:
        return self._rows[self._position[key]]

    def __contains__(self, key: object) -> bool:
        return key in self._position

    def __iter__(self) -> Iterator[str]:
        return iter(self._position)

    def __len__(self) -> int:
        return len(self._position)

    def position(self, key: str) -> int:
        """The row number of ``key``."""
        return self._position[key]
