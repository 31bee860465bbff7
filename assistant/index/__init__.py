"""Index: embed sentences and build, store and load the index folder (``LoadedIndex``).

Stage 2 of the pipeline (embed/index). Only the embedders are imported here, which need no FAISS
and no torch at import time. The rest, imported from their modules:

- ``build.build_index``, ``build.BuildResult``: clean, split, embed and write a new version folder;
- ``store.load_index``, ``store.LoadedIndex``: load (and verify) the live version;
- ``manifest.read_manifest``, ``manifest.settings_mismatch``, ``manifest.diff_documents``: the
  folder layout, the manifest and the ``CURRENT`` pointer;
- ``columns``: JSONL rows and vectors read on demand;
- ``onnx_encoder.OnnxQueryEncoder``: the torch-free query encoder.
"""

from assistant.index.embedding import (
    Embedder,
    HashEmbedder,
    make_embedder,
    make_query_embedder,
    resolve_model_path,
)

__all__ = ["Embedder", "HashEmbedder", "make_embedder", "make_query_embedder", "resolve_model_path"]
