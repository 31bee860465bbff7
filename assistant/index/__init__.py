"""Index: embed sentences and build, store and load the index folder (``LoadedIndex``).

Stage 2 of the pipeline (embed/index). Only the embedders are imported here, which need no FAISS
and no torch at import time. The rest, imported from their modules: ``store.load_index``,
``store.LoadedIndex``, ``store.read_manifest``, ``store.build_index`` and
``columns`` (rows read on demand), ``onnx_encoder.OnnxQueryEncoder`` (the torch-free query encoder).
"""

from assistant.index.embedding import Embedder, HashEmbedder, make_embedder, make_query_embedder, resolve_model_path

__all__ = ["Embedder", "HashEmbedder", "make_embedder", "make_query_embedder", "resolve_model_path"]
