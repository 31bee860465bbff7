"""The cross-encoder: reads a question and a candidate passage together and scores whether it answers.

A MiniLM-L6 (the bundled encoder's weights) fine-tuned on COVID-QA dev pairs (``assistant train-judge
--cross``), exported to ONNX with int8 weights and committed in ``judge_cross/`` beside this file. Its
probability is one feature of the judge's answer head. Runs on onnxruntime (no torch at answer time).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.errors import AssistantError

CROSS_DIR = Path(__file__).with_name("judge_cross")
MAX_TOKENS = 128
SHORT_SENTENCE = 200  # characters: a shorter sentence is read with the one before it


def cross_passage(sentence: str, previous: str | None) -> str:
    """What the cross-encoder reads for a candidate: the sentence, after the one before it when short
    (a short sentence often says "it" for something named just before)."""
    if previous and len(sentence) < SHORT_SENTENCE:
        return f"{previous} {sentence}"
    return sentence


def file_digest(path: Path) -> str:
    """sha256 of a file, first 16 hex digits (identifies the cross-encoder a judge was fitted with)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


class CrossEncoder:
    """Scores (question, passage) pairs with the exported cross-encoder; loads on first use."""

    def __init__(self, folder: Path = CROSS_DIR, threads: int = 1) -> None:
        self.folder = folder
        self._threads = threads
        self._lock = threading.Lock()
        self._session = None

    def _load(self):
        with self._lock:
            if self._session is None:
                model = self.folder / "model.onnx"
                try:
                    import onnxruntime
                    from tokenizers import Tokenizer

                    meta = json.loads((self.folder / "cross.json").read_text(encoding="utf-8"))
                    tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                    options = onnxruntime.SessionOptions()
                    options.intra_op_num_threads = self._threads
                    options.inter_op_num_threads = 1
                    options.log_severity_level = 3
                    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
                except Exception as exc:  # missing or damaged files: name the folder and the remedy
                    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise AssistantError(f"cannot load the judge's cross-encoder in {self.folder} ({first}); "
                                         "retrain it with `scripts/assistant train-judge --cross`") from None
                tokenizer.enable_truncation(int(meta.get("max_tokens", MAX_TOKENS)), strategy="only_second")
                tokenizer.no_padding()
                self._inputs = {i.name for i in session.get_inputs()}
                self._tokenizer, self._session = tokenizer, session
        return self._session

    def digest(self) -> str:
        """The model file's digest (see ``file_digest``)."""
        return file_digest(self.folder / "model.onnx")

    def probabilities(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """P(passage answers question) for each passage, in one batch."""
        if not passages:
            return np.zeros(0, np.float64)
        session = self._load()
        encodings = self._tokenizer.encode_batch([(question, p) for p in passages])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(passages), width), dtype=np.int64)
        mask, types = np.zeros_like(ids), np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = encoding.ids, 1, encoding.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        logits = session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0].reshape(-1)
        return 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -30, 30)))


def export_cross_encoder(model_dir: Path, target: Path = CROSS_DIR) -> Path:
    """Export a fine-tuned sequence-classification model (one logit) to ``target``: int8 ONNX weights,
    its tokenizer and ``cross.json``. Needs torch (training time only)."""
    import shutil
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    sample = tokenizer(["a question"], ["a passage to read"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    work = Path(tempfile.mkdtemp(prefix="cross-"))
    try:
        with torch.no_grad():
            torch.onnx.export(model, (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                              str(work / "fp32.onnx"), input_names=names, output_names=["logits"],
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names} | {"logits": {0: "batch"}},
                              opset_version=17, dynamo=False)
        quantize_dynamic(str(work / "fp32.onnx"), str(work / "model.onnx"), weight_type=QuantType.QInt8,
                         per_channel=True)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "model.onnx", target / "model.onnx")
        tokenizer.backend_tokenizer.save(str(target / "tokenizer.json"))
        (target / "cross.json").write_text(json.dumps({"max_tokens": MAX_TOKENS, "source": str(model_dir)}, indent=1),
                                           encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
