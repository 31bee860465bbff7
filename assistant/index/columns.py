"""Rows of the index's files read on demand, so a loaded index of a million chunks holds neither a
million Python objects nor its vectors in memory.

JSONL files are written with the byte offset of every line (kept in ``columns.npz``); reading row
``i`` parses one line. Sentence vectors are rows of a ``.npy`` file. Rows are read with
``os.pread``, not a memory map: the operating system's page cache keeps hot pages either way, but
mapped pages count towards the process's RSS, and the kernel maps whole neighbourhoods (up to
2 MB folios) on each fault, so a mapped million-chunk index grew by megabytes per question.
"""

from __future__ import annotations

import json
import os
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
    """A read-only sequence of pydantic rows of a JSONL file, each read (pread) and parsed when asked for."""

    def __init__(self, path: Path, offsets: np.ndarray, model: type[Row]) -> None:
        if offsets.ndim != 1 or len(offsets) == 0 or offsets[0] != 0:
            raise ValueError(f"bad line offsets for {path}")
        size = path.stat().st_size
        if int(offsets[-1]) != size:
            raise ValueError(f"line offsets of {path} end at {int(offsets[-1])}, the file has {size} bytes")
        self.path, self._offsets, self._model = path, offsets, model
        self._fd = os.open(path, os.O_RDONLY)  # kept open: a later build may delete the file

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

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
        start, end = int(self._offsets[index]), int(self._offsets[index + 1])
        return self._model.model_validate_json(os.pread(self._fd, end - start, start))

    def __iter__(self) -> Iterator[Row]:
        # pread in blocks of whole lines: no file position is shared between threads
        offsets, row = self._offsets, 0
        while row < len(self):
            start = int(offsets[row])
            last = max(row + 1, int(np.searchsorted(offsets, start + (1 << 20), side="right")) - 1)
            last = min(last, len(self))
            block = os.pread(self._fd, int(offsets[last]) - start, start)
            for i in range(row, last):
                yield self._model.model_validate_json(block[int(offsets[i]) - start : int(offsets[i + 1]) - start])
            row = last


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


class VectorRows:
    """The rows of a 2-D ``.npy`` file, read on demand. Indexing with an int, a slice or a list of
    ints returns a NumPy array; ``np.asarray`` reads the whole matrix."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(handle)
            self._start = handle.tell()
        if fortran or len(shape) != 2 or dtype.hasobject:
            raise ValueError(f"{path} is not a C-ordered 2-D numeric array")
        self.path, self.shape, self.dtype, self.ndim = path, tuple(shape), dtype, 2
        self._row_bytes = shape[1] * dtype.itemsize
        if path.stat().st_size < self._start + shape[0] * self._row_bytes:
            raise ValueError(f"{path} is shorter than its header says")
        self._fd = os.open(path, os.O_RDONLY)

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, first: int, count: int) -> np.ndarray:
        data = os.pread(self._fd, count * self._row_bytes, self._start + first * self._row_bytes)
        return np.frombuffer(data, dtype=self.dtype).reshape(count, self.shape[1])

    def __getitem__(self, index) -> np.ndarray:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            rows = self._read(start, max(0, stop - start)) if step == 1 else self[list(range(start, stop, step))]
            return rows.copy() if step == 1 else rows
        if isinstance(index, (int, np.integer)):
            row = int(index) + (len(self) if index < 0 else 0)
            if not 0 <= row < len(self):
                raise IndexError(f"row {index} of {len(self)} in {self.path.name}")
            return self._read(row, 1)[0].copy()
        rows = np.asarray(index, dtype=np.int64).reshape(-1)
        rows = np.where(rows < 0, rows + len(self), rows)
        if len(rows) and (rows.min() < 0 or rows.max() >= len(self)):
            raise IndexError(f"row out of range for {len(self)} rows in {self.path.name}")
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        if not len(rows):
            return out
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        breaks = np.flatnonzero(np.diff(ordered) > 1) + 1  # one read per run of neighbouring rows
        for begin, end in zip(np.r_[0, breaks], np.r_[breaks, len(rows)]):
            first, last = int(ordered[begin]), int(ordered[end - 1])
            block = self._read(first, last - first + 1)
            out[order[begin:end]] = block[ordered[begin:end] - first]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self._read(0, len(self)).copy()
        return whole if dtype is None else whole.astype(dtype)

    def __iter__(self) -> Iterator[np.ndarray]:
        block = 4096
        for begin in range(0, len(self), block):
            yield from self._read(begin, min(block, len(self) - begin)).copy()
