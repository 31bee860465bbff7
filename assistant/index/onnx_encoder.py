"""A fast query encoder: the sentence-transformers model exported once to ONNX (optionally with
per-channel dynamic int8 weights) and run with onnxruntime on one thread.

Only questions go through it; passages and sentences are still embedded by the torch model, so
the index is unchanged. It needs neither torch nor sentence-transformers at query time, which is
most of the cold start. The export is cached in a folder keyed by the model's files; building it
takes a few seconds once (README, "Speed", has the eval figures beside torch).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.errors import AssistantError
from assistant.index.word_vectors import WordVectors, group_word_pieces
from assistant.settings import use_local_models

ENCODER_FORMAT = 1
QUANTIZATIONS = ("int8", "fp32")


class UnsupportedModel(AssistantError):
    """The model's pipeline is not one this exporter reproduces (e.g. not mean or CLS pooling)."""


def model_fingerprint(model_dir: Path) -> str:
    """A short hash of the model folder's file names and contents (about 60 ms for MiniLM's 90 MB):
    weights replaced by others of the same size and time must not reuse an old export."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(model_dir)}\0".encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def encoder_dir(cache: Path, model_dir: Path, quantization: str) -> Path:
    """Where the export of one model with one quantization is cached."""
    return cache / f"{model_dir.name}-{model_fingerprint(model_dir)}-{quantization}-v{ENCODER_FORMAT}"


def export_encoder(model_dir: Path, target: Path, quantization: str = "int8") -> Path:
    """Export the model's transformer to ONNX in ``target`` (atomically), with the tokenizer and
    a small ``encoder.json`` describing pooling, normalisation and the maximum length."""
    if quantization not in QUANTIZATIONS:
        raise AssistantError(f"unknown quantization {quantization!r}; use one of {', '.join(QUANTIZATIONS)}")
    use_local_models()
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()

    model = SentenceTransformer(str(model_dir), device="cpu")
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise UnsupportedModel(f"cannot export {model_dir}: pipeline {kinds} is not Transformer+Pooling[+Normalize]")
    pooling_config = modules[1].get_config_dict()
    pooling = "cls" if pooling_config.get("pooling_mode_cls_token") else "mean"
    if pooling == "mean" and not pooling_config.get("pooling_mode_mean_tokens", True):
        raise UnsupportedModel(f"cannot export {model_dir}: pooling {pooling_config} is neither mean nor CLS")
    tokenizer_file = model_dir / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise UnsupportedModel(f"cannot export {model_dir}: it has no tokenizer.json (a fast tokenizer)")
    transformer = modules[0].auto_model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            extra = {"token_type_ids": token_type_ids} if uses_token_types else {}
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state

    sample = model.tokenizer(["a short sample", "another sample sentence"], padding=True, return_tensors="pt")
    uses_token_types = "token_type_ids" in sample
    token_types = sample.get("token_type_ids", torch.zeros_like(sample["input_ids"]))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    except OSError as exc:
        raise AssistantError(f"cannot write the ONNX query encoder to {target.parent} ({exc.strerror or exc}); "
                             "set ASSISTANT_ENCODER_CACHE to a writable folder, or ASSISTANT_QUERY_ENCODER=torch"
                             ) from exc
    try:
        import warnings

        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(LastHidden(transformer), (sample["input_ids"], sample["attention_mask"], token_types),
                              str(work / "fp32.onnx"), input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                              opset_version=17, dynamo=False)
        if quantization == "int8":
            import logging

            from onnxruntime.quantization import QuantType, quantize_dynamic

            logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # a pre-processing hint
            quantize_dynamic(str(work / "fp32.onnx"), str(work / "model.onnx"), weight_type=QuantType.QInt8,
                             per_channel=True)
            (work / "fp32.onnx").unlink()
        else:
            (work / "fp32.onnx").rename(work / "model.onnx")
        shutil.copyfile(tokenizer_file, work / "tokenizer.json")
        meta = {"format": ENCODER_FORMAT, "source": str(model_dir), "quantization": quantization, "pooling": pooling,
                "normalize": "Normalize" in kinds, "max_tokens": int(model.max_seq_length),
                "dimension": int(transformer.config.hidden_size)}
        (work / "encoder.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if target.exists() and not (target / "encoder.json").is_file():
            shutil.rmtree(target)  # an incomplete folder left by hand: replace it
        try:
            os.replace(work, target)
        except OSError:
            if not (target / "encoder.json").is_file():  # not another process's finished export
                raise
    except OSError as exc:
        raise AssistantError(f"cannot write the ONNX query encoder to {target} ({exc.strerror or exc}); "
                             "set ASSISTANT_ENCODER_CACHE to a writable folder, or ASSISTANT_QUERY_ENCODER=torch"
                             ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


class OnnxQueryEncoder:
    """Encodes questions with an ONNX export of a model; exports it on first use when missing."""

    def __init__(self, model_dir: Path, cache: Path, quantization: str = "int8", threads: int = 1,
                 name: str | None = None) -> None:
        self.name = name or f"{model_dir}@onnx-{quantization}"
        self._model_dir = model_dir
        self._cache = cache
        self._quantization = quantization
        self._threads = threads
        self._lock = threading.Lock()
        self._session = None
        self._meta: dict = {}

    def _load(self):
        with self._lock:
            if self._session is None:
                folder = encoder_dir(self._cache, self._model_dir, self._quantization)
                if not (folder / "encoder.json").is_file():
                    export_encoder(self._model_dir, folder, self._quantization)
                import onnxruntime
                from tokenizers import Tokenizer

                try:
                    meta = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
                    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
                    options = onnxruntime.SessionOptions()
                    options.intra_op_num_threads = self._threads
                    options.inter_op_num_threads = 1
                    options.log_severity_level = 3
                    session = onnxruntime.InferenceSession(str(folder / "model.onnx"), options,
                                                           providers=["CPUExecutionProvider"])
                    max_tokens, dimension = int(meta["max_tokens"]), int(meta["dimension"])
                    if meta["pooling"] not in ("mean", "cls") or not isinstance(meta["normalize"], bool) \
                            or max_tokens < 1 or dimension < 1:
                        raise ValueError("encoder.json has unusable values")
                except Exception as exc:  # a damaged cache: say where, so it can be deleted
                    raise AssistantError(f"cannot load the ONNX query encoder in {folder}: {exc}; "
                                         "delete that folder to export it again") from exc
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_tokens)
                self._inputs = {i.name for i in session.get_inputs()}  # unused inputs are pruned on export
                self._tokenizer, self._meta, self._session = tokenizer, meta, session
        return self._session

    @property
    def dimension(self) -> int:
        self._load()
        return int(self._meta["dimension"])

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Encode texts (in batches of similar length) to normalised float32 vectors."""
        session = self._load()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for begin in range(0, len(order), batch_size):
            idx = order[begin : begin + batch_size]
            out[idx] = self._encode_batch([texts[i] for i in idx], session)
            if progress:
                progress(len(idx))
        return out

    def encode_words(self, texts: Sequence[str]) -> list[WordVectors]:
        """One contextual vector per word of each text (token vectors of the model, pieces averaged)."""
        session = self._load()
        if not texts:
            return []
        # One run per text: padding a batch to its longest sentence cost twice the time (COVID-QA: 51 against
        # 24 ms per question), and int8 activation scales computed over a padded batch would make a text's
        # vectors depend on the texts it was batched with.
        out = []
        for text in texts:
            hidden, _, (encoding,) = self._run([text], session)
            out.append(group_word_pieces(text, hidden[0, : len(encoding.ids)], encoding.offsets, encoding.word_ids))
        return out

    def _encode_batch(self, texts: list[str], session) -> np.ndarray:
        hidden, mask, _ = self._run(texts, session)
        return pool(hidden, mask, self._meta["pooling"], self._meta["normalize"])

    def _run(self, texts: list[str], session):
        """Token vectors, attention mask and tokenizer encodings of a batch."""
        encodings = self._tokenizer.encode_batch(texts)
        width = max(1, max(len(e.ids) for e in encodings))
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return hidden, mask, encodings


def pool(hidden: np.ndarray, mask: np.ndarray, pooling: str, normalize: bool) -> np.ndarray:
    """Token vectors to one vector per text: mean over real tokens, or the first (CLS) token."""
    if pooling == "cls":
        vectors = hidden[:, 0, :]
    else:
        weights = mask[..., None].astype(hidden.dtype)
        vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    if normalize:
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors.astype(np.float32)
