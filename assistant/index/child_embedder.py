"""Batch embedding in a short-lived child process, so that a long-running server never keeps
torch and the sentence-transformers model in memory after an upload.

Loading torch and the model adds about 450 MB to a process (measured: 228 -> 674 MB RSS on the
first upload to a served index), and that memory is never given back. A server answers questions
with the ONNX query encoder and needs torch only to embed the new sentences of an upload, so
``ChildProcessEmbedder.encode`` runs ``python -m assistant.index.child_embedder`` for each batch:
the child loads the model, writes the vectors to a ``.npy`` file and exits, taking the memory
with it. The price is the child's start (a few seconds) per upload.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant.errors import AssistantError
from assistant.index.worker_embedding import OutOfProcessEmbedder

TIME_LIMIT_S = 1800


class ChildProcessEmbedder(OutOfProcessEmbedder):
    """Encodes batches with ``model`` in a child process; ``dimension`` is given (the query
    encoder of the same model knows it) so that nothing loads the model here."""

    def __init__(self, name: str, model: str, precision: str, device: str, dimension: int) -> None:
        super().__init__(name, dimension)
        self._model, self._precision, self._device = model, precision, device

    def _encode(self, texts: list[str], batch_size: int, progress: Callable[[int], None] | None) -> np.ndarray:
        """Vectors of ``texts`` (normalised float32), computed by a child process."""
        with tempfile.TemporaryDirectory(prefix="assistant-embed-") as folder:
            inputs, output = Path(folder) / "texts.json", Path(folder) / "vectors.npy"
            inputs.write_text(json.dumps(texts), encoding="utf-8")
            command = [sys.executable, "-m", "assistant.index.child_embedder", self._model, self._precision,
                       self._device, str(batch_size), str(inputs), str(output)]
            try:
                result = subprocess.run(command, capture_output=True, timeout=TIME_LIMIT_S, check=False)
            except subprocess.TimeoutExpired as exc:
                raise AssistantError(f"embedding {len(texts)} texts took over {TIME_LIMIT_S}s") from exc
            if result.returncode != 0:
                lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
                raise AssistantError(f"the embedding process failed: {lines[-1] if lines else result.returncode}")
            vectors = self.checked(np.load(output, allow_pickle=False), len(texts))
        if progress:
            progress(len(texts))
        return vectors


def _main(argv: list[str]) -> int:
    from assistant.index.embedding import SentenceTransformerEmbedder

    model, precision, device, batch_size, inputs, output = argv
    texts = json.loads(Path(inputs).read_text(encoding="utf-8"))
    embedder = SentenceTransformerEmbedder(model, precision=precision, device=device)
    np.save(output, embedder.encode(texts, batch_size=int(batch_size)), allow_pickle=False)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
