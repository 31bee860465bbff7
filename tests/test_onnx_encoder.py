"""The ONNX query encoder (``onnx_encoder``) and the query-embedder choice in ``embedding``.

Pooling, cache naming, the embedder choice and the fallback run without a model. Tests marked
``@pytest.mark.model`` export the bundled model once per session (int8 and fp32) and compare
the vectors with the sentence-transformers model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import AssistantError
from assistant.index import onnx_encoder
from assistant.index.embedding import (
    FallbackEmbedder,
    HashEmbedder,
    SentenceTransformerEmbedder,
    make_query_embedder,
    resolve_model_path,
)
from assistant.index.onnx_encoder import (
    ENCODER_FORMAT,
    OnnxQueryEncoder,
    UnsupportedModel,
    encoder_dir,
    export_encoder,
    model_fingerprint,
    pool,
)
from assistant.settings import BUNDLED_MODEL

TEXTS = [
    "",
    "Hi",
    "What is gene therapy?",
    "Café crème brûlée à Paris.",
    "中文句子测试",
    "Rocket 🚀 launch at 3:45 pm!",
    "Zolgensma costs 2.1 million dollars per dose.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "Adeno-associated viruses carry up to 4.7 kilobases of DNA. " * 40,  # over the 256-token limit
    " ".join(f"word{i}" for i in range(400)),
]


# --- pool (hand-computed) ----------------------------------------------------------------------


def test_mean_pooling_ignores_padded_tokens() -> None:
    hidden = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, -100.0]],     # last token is padding
                       [[2.0, 0.0], [4.0, 2.0], [6.0, 4.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0], [1, 1, 1]], dtype=np.int64)
    got = pool(hidden, mask, "mean", normalize=False)
    assert got.dtype == np.float32 and got.shape == (2, 2)
    assert np.allclose(got, [[2.0, 3.0], [4.0, 2.0]])


def test_mean_pooling_with_normalisation() -> None:
    hidden = np.array([[[3.0, 0.0], [3.0, 8.0], [9.0, 9.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    # mean of the two real tokens = (3, 4); its norm is 5.
    assert np.allclose(pool(hidden, mask, "mean", normalize=True), [[0.6, 0.8]])


def test_cls_pooling_takes_the_first_token() -> None:
    hidden = np.array([[[0.0, 5.0], [1.0, 1.0]], [[-6.0, 8.0], [7.0, 7.0]]], dtype=np.float32)
    mask = np.array([[1, 1], [1, 0]])
    assert np.allclose(pool(hidden, mask, "cls", normalize=False), [[0.0, 5.0], [-6.0, 8.0]])
    assert np.allclose(pool(hidden, mask, "cls", normalize=True), [[0.0, 1.0], [-0.6, 0.8]])


def test_pooling_a_row_without_tokens_gives_zeros_not_nan() -> None:
    hidden = np.ones((2, 2, 3), dtype=np.float32)
    mask = np.array([[0, 0], [1, 0]])
    got = pool(hidden, mask, "mean", normalize=True)
    assert np.all(np.isfinite(got))
    assert np.allclose(got[0], 0.0)
    assert np.allclose(got[1], 1 / np.sqrt(3))


def test_pooling_returns_float32_from_float64() -> None:
    hidden = np.arange(12, dtype=np.float64).reshape(1, 4, 3)
    got = pool(hidden, np.ones((1, 4)), "mean", normalize=False)
    assert got.dtype == np.float32
    assert np.allclose(got, [[4.5, 5.5, 6.5]])


# --- fingerprint and cache folder --------------------------------------------------------------


def fake_model(folder: Path) -> Path:
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "config.json").write_text('{"hidden_size": 384}', encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"\0" * 100)
    (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}', encoding="utf-8")
    return folder


def test_fingerprint_is_stable_and_short(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    first = model_fingerprint(model)
    assert first == model_fingerprint(model)
    assert len(first) == 16 and all(c in "0123456789abcdef" for c in first)


def test_fingerprint_changes_when_a_file_changes_size(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    before = model_fingerprint(model)
    (model / "model.safetensors").write_bytes(b"\0" * 101)
    assert model_fingerprint(model) != before


def test_fingerprint_changes_when_a_nested_file_changes_or_appears(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    before = model_fingerprint(model)
    (model / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}', encoding="utf-8")
    changed = model_fingerprint(model)
    assert changed != before
    (model / "tokenizer.json").write_text("{}", encoding="utf-8")
    assert model_fingerprint(model) != changed


def test_fingerprint_changes_when_same_size_content_changes(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    weights = model / "model.safetensors"
    stat = weights.stat()
    before = model_fingerprint(model)
    weights.write_bytes(b"\1" * stat.st_size)  # other weights, same size
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # timestamps kept, as by cp -p
    assert model_fingerprint(model) != before


def test_fingerprint_depends_on_the_file_names(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    before = model_fingerprint(model)
    (model / "model.safetensors").rename(model / "pytorch_model.bin")
    assert model_fingerprint(model) != before


def test_encoder_dir_names_model_fingerprint_quantization_and_format(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "my-model")
    cache = tmp_path / "cache"
    int8, fp32 = encoder_dir(cache, model, "int8"), encoder_dir(cache, model, "fp32")
    assert int8.parent == cache and fp32.parent == cache
    fingerprint = model_fingerprint(model)
    assert int8.name == f"my-model-{fingerprint}-int8-v{ENCODER_FORMAT}"
    assert fp32.name == f"my-model-{fingerprint}-fp32-v{ENCODER_FORMAT}"
    assert int8 != fp32
    (model / "config.json").write_text('{"hidden_size": 1024}', encoding="utf-8")
    assert encoder_dir(cache, model, "int8") != int8  # a changed model gets a new export


def test_unknown_quantization_is_refused_before_loading(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    with pytest.raises(AssistantError, match="unknown quantization 'int4'"):
        export_encoder(model, tmp_path / "out", "int4")
    assert not (tmp_path / "out").exists()


def test_encoder_name_and_laziness(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "model")
    encoder = OnnxQueryEncoder(model, tmp_path / "cache", quantization="fp32")
    assert encoder.name == f"{model}@onnx-fp32"
    assert OnnxQueryEncoder(model, tmp_path / "cache", name="custom").name == "custom"
    assert not (tmp_path / "cache").exists()  # nothing is exported or loaded until used


# --- make_query_embedder -----------------------------------------------------------------------


@pytest.mark.parametrize("setting", ["torch", "onnx-int8", "onnx-fp32"])
def test_the_fake_embedder_is_used_unchanged(tmp_path: Path, setting: str) -> None:
    documents = HashEmbedder(64)
    assert make_query_embedder("hash-64", documents, setting, tmp_path / "cache") is documents


def test_torch_setting_returns_the_documents_embedder(tmp_path: Path) -> None:
    documents = SentenceTransformerEmbedder(str(tmp_path))  # lazy: never loaded here
    assert make_query_embedder(str(tmp_path), documents, "torch", tmp_path / "cache") is documents


def test_a_hub_name_is_not_exported(tmp_path: Path) -> None:
    documents = SentenceTransformerEmbedder("someone/some-model")
    assert make_query_embedder("someone/some-model", documents, "onnx-int8", tmp_path / "cache") is documents


@pytest.mark.parametrize("setting, quantization", [("onnx-int8", "int8"), ("onnx-fp32", "fp32")])
def test_onnx_setting_wraps_the_export_with_a_fallback(tmp_path: Path, setting: str, quantization: str) -> None:
    model = fake_model(tmp_path / "model")
    documents = SentenceTransformerEmbedder(str(model))
    chosen = make_query_embedder(str(model), documents, setting, tmp_path / "cache", threads=2)
    assert isinstance(chosen, FallbackEmbedder)
    assert chosen.fallback is documents
    assert isinstance(chosen.primary, OnnxQueryEncoder)
    assert chosen.primary._quantization == quantization and chosen.primary._threads == 2
    assert chosen.name == f"{model}@{setting}"
    assert not (tmp_path / "cache").exists()


# --- FallbackEmbedder (fake embedders) ---------------------------------------------------------


class Unsupported:
    name = "primary-model"

    def __init__(self, error: Exception) -> None:
        self.error, self.tries = error, 0

    @property
    def dimension(self) -> int:
        self.tries += 1
        raise self.error

    def encode(self, texts, batch_size=64, progress=None):
        raise AssertionError("a primary that cannot load must not encode")


class Fixed:
    def __init__(self, name: str, value: float, dimension: int = 3) -> None:
        self.name, self.value, self._dimension, self.calls = name, value, dimension, []

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts, batch_size=64, progress=None):
        self.calls.append((list(texts), batch_size))
        if progress:
            progress(len(texts))
        return np.full((len(texts), self._dimension), self.value, dtype=np.float32)


def test_fallback_when_the_primary_is_unsupported(caplog: pytest.LogCaptureFixture) -> None:
    primary, fallback = Unsupported(UnsupportedModel("cannot export m: pipeline [...]")), Fixed("torch-model", 2.0, 5)
    embedder = FallbackEmbedder(primary, fallback)
    assert embedder.name == "primary-model"  # nothing tried yet
    with caplog.at_level(logging.WARNING, logger="assistant.index.embedding"):
        assert embedder.dimension == 5
        vectors = embedder.encode(["a", "b"], batch_size=7)
        embedder.encode(["c"])
    assert embedder.name == "torch-model"
    assert np.array_equal(vectors, np.full((2, 5), 2.0, dtype=np.float32))
    assert fallback.calls == [(["a", "b"], 7), (["c"], 64)]
    assert primary.tries == 1, "the failed primary is tried once, not on every call"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot export m" in warnings[0].getMessage()


def test_fallback_passes_progress_through() -> None:
    embedder = FallbackEmbedder(Unsupported(UnsupportedModel("no")), Fixed("torch-model", 1.0))
    done = []
    embedder.encode(["a", "b", "c"], progress=done.append)
    assert done == [3]


def test_working_primary_is_used() -> None:
    primary, fallback = Fixed("onnx", 1.0), Fixed("torch", 2.0)
    embedder = FallbackEmbedder(primary, fallback)
    assert np.array_equal(embedder.encode(["x"]), np.ones((1, 3), dtype=np.float32))
    assert embedder.name == "onnx" and embedder.dimension == 3
    assert fallback.calls == []


@pytest.mark.parametrize("error", [AssistantError("cannot load the ONNX query encoder in /x"), OSError("disk")])
def test_other_primary_errors_are_not_hidden(error: Exception) -> None:
    embedder = FallbackEmbedder(Unsupported(error), Fixed("torch", 2.0))
    with pytest.raises(type(error)):
        embedder.encode(["x"])
    assert embedder.name == "primary-model"


# --- the real model ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return Path(resolve_model_path(BUNDLED_MODEL))


@pytest.fixture(scope="session")
def encoder_cache(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding int8 and fp32 exports of the bundled model, made once per session."""
    cache = tmp_path_factory.mktemp("encoders")
    for quantization in ("int8", "fp32"):
        export_encoder(model_dir, encoder_dir(cache, model_dir, quantization), quantization)
    return cache


@pytest.fixture(scope="session")
def onnx_encoders(model_dir: Path, encoder_cache: Path) -> dict[str, OnnxQueryEncoder]:
    encoders = {q: OnnxQueryEncoder(model_dir, encoder_cache, quantization=q) for q in ("int8", "fp32")}
    for encoder in encoders.values():
        assert encoder.dimension == 384
    return encoders


@pytest.fixture(scope="session")
def torch_vectors(real_embedder: SentenceTransformerEmbedder) -> np.ndarray:
    return real_embedder.encode(TEXTS)


@pytest.mark.model
def test_export_folder_contents(model_dir: Path, encoder_cache: Path) -> None:
    assert sorted(p.name for p in encoder_cache.iterdir()) == sorted(
        encoder_dir(encoder_cache, model_dir, q).name for q in ("int8", "fp32"))  # no work folders left
    for quantization in ("int8", "fp32"):
        folder = encoder_dir(encoder_cache, model_dir, quantization)
        assert sorted(p.name for p in folder.iterdir()) == ["encoder.json", "model.onnx", "tokenizer.json"]
        meta = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
        assert meta["format"] == ENCODER_FORMAT and meta["quantization"] == quantization
        assert meta["pooling"] == "mean" and meta["normalize"] is True
        assert meta["dimension"] == 384 and meta["max_tokens"] == 256
    sizes = {q: (encoder_dir(encoder_cache, model_dir, q) / "model.onnx").stat().st_size for q in ("int8", "fp32")}
    assert sizes["int8"] < sizes["fp32"] / 2


@pytest.mark.model
@pytest.mark.parametrize("quantization", ["int8", "fp32"])
def test_vectors_are_unit_float32(onnx_encoders, quantization: str) -> None:
    vectors = onnx_encoders[quantization].encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.model
def test_fp32_export_matches_the_torch_model(onnx_encoders, torch_vectors: np.ndarray) -> None:
    vectors = onnx_encoders["fp32"].encode(TEXTS)
    cosines = (vectors * torch_vectors).sum(axis=1)
    for text, cosine in zip(TEXTS, cosines):
        assert cosine >= 0.9999, (text[:40], cosine)


@pytest.mark.model
def test_int8_export_is_close_to_the_torch_model(onnx_encoders, torch_vectors: np.ndarray) -> None:
    encoder = onnx_encoders["int8"]
    # Questions are encoded one at a time, as the assistant does.
    alone = np.stack([encoder.encode([text])[0] for text in TEXTS])
    for text, cosine in zip(TEXTS, (alone * torch_vectors).sum(axis=1)):
        assert cosine >= 0.97, (text[:40], cosine)
    # Dynamic int8 quantisation scales activations per batch, so batched vectors differ a little.
    batched = encoder.encode(TEXTS)
    for text, cosine in zip(TEXTS, (batched * torch_vectors).sum(axis=1)):
        assert cosine >= 0.96, (text[:40], cosine)


@pytest.mark.model
def test_batch_encoding_equals_one_by_one(onnx_encoders) -> None:
    encoder = onnx_encoders["fp32"]
    batched = encoder.encode(TEXTS)
    alone = np.stack([encoder.encode([text])[0] for text in TEXTS])
    assert np.allclose(batched, alone, atol=1e-5)
    done = []
    small_batches = encoder.encode(TEXTS, batch_size=3, progress=done.append)
    assert np.allclose(small_batches, batched, atol=1e-5)
    assert done == [3, 3, 3, 1]


@pytest.mark.model
@pytest.mark.parametrize("quantization", ["int8", "fp32"])
def test_encoding_nothing(onnx_encoders, quantization: str) -> None:
    assert onnx_encoders[quantization].encode([]).shape == (0, 384)


@pytest.mark.model
def test_order_of_the_texts_is_kept(onnx_encoders) -> None:
    encoder = onnx_encoders["fp32"]
    forward = encoder.encode(TEXTS)
    backward = encoder.encode(TEXTS[::-1])
    assert np.allclose(forward, backward[::-1], atol=1e-5)


@pytest.mark.model
@pytest.mark.parametrize("quantization", ["int8", "fp32"])
def test_a_cached_export_is_reused(model_dir: Path, encoder_cache: Path, onnx_encoders, quantization: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def no_export(*args, **kwargs):
        raise AssertionError("the cached export was not reused")

    monkeypatch.setattr(onnx_encoder, "export_encoder", no_export)
    before = sorted(p.name for p in encoder_cache.iterdir())
    fresh = OnnxQueryEncoder(model_dir, encoder_cache, quantization=quantization)
    assert np.allclose(fresh.encode(TEXTS[:4]), onnx_encoders[quantization].encode(TEXTS[:4]), atol=1e-6)
    assert sorted(p.name for p in encoder_cache.iterdir()) == before


@pytest.mark.model
def test_a_missing_export_is_made_on_first_use(model_dir: Path, encoder_cache: Path, onnx_encoders,
                                               tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    encoder = OnnxQueryEncoder(model_dir, cache, quantization="fp32")
    vectors = encoder.encode(TEXTS[:3])
    assert (encoder_dir(cache, model_dir, "fp32") / "encoder.json").is_file()
    assert np.allclose(vectors, onnx_encoders["fp32"].encode(TEXTS[:3]), atol=1e-5)


def damaged_copy(model_dir: Path, encoder_cache: Path, cache: Path) -> Path:
    """A private copy of the fp32 export, in ``cache``, to break."""
    folder = encoder_dir(cache, model_dir, "fp32")
    shutil.copytree(encoder_dir(encoder_cache, model_dir, "fp32"), folder)
    return folder


@pytest.mark.model
@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "missing-tokenizer", "bad-json"])
def test_a_damaged_cache_names_the_folder(model_dir: Path, encoder_cache: Path, tmp_path: Path,
                                          damage: str) -> None:
    cache = tmp_path / "cache"
    folder = damaged_copy(model_dir, encoder_cache, cache)
    model_file = folder / "model.onnx"
    if damage == "garbage":
        model_file.write_bytes(b"this is not an onnx model")
    elif damage == "truncated":
        model_file.write_bytes(model_file.read_bytes()[:5000])
    elif damage == "empty":
        model_file.write_bytes(b"")
    elif damage == "missing-tokenizer":
        (folder / "tokenizer.json").unlink()
    else:
        (folder / "encoder.json").write_text("{not json", encoding="utf-8")
    encoder = OnnxQueryEncoder(model_dir, cache, quantization="fp32")
    with pytest.raises(AssistantError) as info:
        encoder.encode(["What is gene therapy?"])
    message = str(info.value)
    assert str(folder) in message and "delete that folder" in message
    assert "\n" not in message
    assert not isinstance(info.value, UnsupportedModel)  # not silently replaced by torch


@pytest.mark.model
def test_an_encoder_json_missing_a_key_names_the_folder(model_dir: Path, encoder_cache: Path,
                                                        tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    folder = damaged_copy(model_dir, encoder_cache, cache)
    meta = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
    del meta["max_tokens"]
    (folder / "encoder.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(AssistantError, match="delete that folder"):
        OnnxQueryEncoder(model_dir, cache, quantization="fp32").encode(["x"])


@pytest.mark.model
def test_make_query_embedder_for_the_real_model(model_dir: Path, encoder_cache: Path, onnx_encoders,
                                                real_embedder: SentenceTransformerEmbedder) -> None:
    assert make_query_embedder(BUNDLED_MODEL, real_embedder, "torch", encoder_cache) is real_embedder
    chosen = make_query_embedder(BUNDLED_MODEL, real_embedder, "onnx-int8", encoder_cache)
    assert isinstance(chosen, FallbackEmbedder) and chosen.fallback is real_embedder
    vectors = chosen.encode(["What is gene therapy?"])
    assert chosen.name == f"{BUNDLED_MODEL}@onnx-int8"  # the export worked: no fallback
    assert np.allclose(vectors, onnx_encoders["int8"].encode(["What is gene therapy?"]), atol=1e-6)


@pytest.mark.model
def test_a_model_without_a_fast_tokenizer_falls_back_to_torch(model_dir: Path, tmp_path: Path,
                                                              real_embedder: SentenceTransformerEmbedder) -> None:
    copy = tmp_path / "no-fast-tokenizer"
    copy.mkdir()
    for path in model_dir.iterdir():
        if path.is_dir():
            shutil.copytree(path, copy / path.name)
        elif path.name != "tokenizer.json":
            (copy / path.name).symlink_to(path)
    with pytest.raises(UnsupportedModel, match="tokenizer.json"):
        export_encoder(copy, tmp_path / "out", "fp32")
    assert not (tmp_path / "out").exists()
    chosen = make_query_embedder(str(copy), real_embedder, "onnx-fp32", tmp_path / "cache")
    assert isinstance(chosen, FallbackEmbedder)
    vectors = chosen.encode(["What is gene therapy?"])
    assert chosen.name == real_embedder.name
    assert np.allclose(vectors, real_embedder.encode(["What is gene therapy?"]), atol=1e-6)


@pytest.mark.model
def test_an_unwritable_cache_is_one_clear_error(model_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(onnx_encoder.tempfile, "mkdtemp", refuse)
    with pytest.raises(AssistantError, match="ASSISTANT_ENCODER_CACHE") as info:
        export_encoder(model_dir, tmp_path / "cache" / "x", "int8")
    assert "Permission denied" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.model
def test_a_concurrent_export_that_finished_first_is_kept(model_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "cache" / "x"
    real_replace = os.replace

    def other_process_won(source, destination):
        if Path(destination) == target:
            target.mkdir(parents=True)
            (target / "encoder.json").write_text("{}", encoding="utf-8")
            (target / "marker").write_text("theirs", encoding="utf-8")
            raise OSError(39, "Directory not empty")
        return real_replace(source, destination)

    monkeypatch.setattr(onnx_encoder.os, "replace", other_process_won)
    assert export_encoder(model_dir, target, "int8") == target
    assert (target / "marker").read_text(encoding="utf-8") == "theirs"
    assert [p.name for p in target.parent.iterdir()] == ["x"]  # our temporary folder is gone


@pytest.mark.model
def test_word_vectors_of_a_text_do_not_depend_on_the_texts_read_with_it(onnx_encoders) -> None:
    encoder = onnx_encoders["int8"]
    short = "How much does Zolgensma cost?"
    long = " ".join(TEXTS) * 3  # far longer: a padded batch would change the short text's int8 scales
    (alone,) = encoder.encode_words([short])
    together = encoder.encode_words([short, long])
    assert together[0].words == alone.words
    assert np.array_equal(together[0].vectors, alone.vectors)
    assert len(together) == 2 and together[1].words
