"""Embedding with Ray Data (``assistant index --ray ADDRESS``): the same vectors as one process, and an
address that does not answer is one line, exit 2, with the index untouched.

The Ray tests start a local Ray (``--ray local``) and are skipped, with the reason, without the [scale]
extra; the address checks themselves need no Ray.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_one_line_error, run_cli

from assistant.errors import ClusterError, UserInputError
from assistant.index.embedding import HashEmbedder, SentenceTransformerEmbedder
from assistant.index import ray_embedding
from assistant.index.ray_embedding import RayEmbedder, probe, ray_endpoint
from conftest import CORPUS, make_assistant

TEXTS = [f"Sentence {i}: gene therapy delivers a working copy of gene {i % 13} with an AAV vector." * (1 + i % 3)
         for i in range(60)]


def closed_port() -> int:
    """A local port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def needs_ray() -> None:
    pytest.importorskip("ray.data", reason="Ray is not installed (pip install -e '.[scale]')")


def test_addresses_name_their_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ray_endpoint("10.0.0.5:6379") == ("10.0.0.5", 6379)
    assert ray_endpoint("ray://head.example.com:10001") == ("head.example.com", 10001)
    assert ray_endpoint("local") is None
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.7:6380")
    assert ray_endpoint("auto") == ("10.0.0.7", 6380)


def test_an_address_that_does_not_answer_is_a_cluster_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    reached = rf"cannot reach the Ray cluster at 127\.0\.0\.1:{port}: .*index is unchanged"
    with pytest.raises(ClusterError, match=reached):
        probe(f"127.0.0.1:{port}")
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(ClusterError, match=rf"at auto \(127\.0\.0\.1:{port}\)"):
        probe("auto")
    monkeypatch.delenv("RAY_ADDRESS")
    monkeypatch.setattr(ray_embedding, "_last_ray_start", lambda: None)
    with pytest.raises(ClusterError, match="--ray auto found no Ray cluster: RAY_ADDRESS is not set"):
        probe("auto")
    assert ClusterError("x").exit_code == 2


def test_without_ray_installed_the_error_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(UserInputError, match=r"--ray needs Ray: pip install 'cited-assistant\[scale\]'"):
        RayEmbedder(HashEmbedder(64), 64, "local").encode(["a text"])


@pytest.mark.process
def test_index_with_a_dead_ray_address_fails_in_one_line_and_touches_nothing(tmp_path: Path) -> None:
    needs_ray()
    shutil.copytree(CORPUS, tmp_path / "corpus")
    assert run_cli("index", "--corpus", "corpus", "--index", "idx", cwd=tmp_path).returncode == 0
    before = {p.relative_to(tmp_path): p.stat().st_mtime_ns for p in (tmp_path / "idx").rglob("*")}
    (tmp_path / "corpus" / "new.txt").write_text("Zorblax therapy repairs the gene in one dose. It is new.\n")
    port = closed_port()
    result = run_cli("index", "--corpus", "corpus", "--index", "idx", "--ray", f"127.0.0.1:{port}", cwd=tmp_path)
    assert_one_line_error(result, 2, f"Ray cluster at 127.0.0.1:{port}", "index is unchanged")
    after = {p.relative_to(tmp_path): p.stat().st_mtime_ns for p in (tmp_path / "idx").rglob("*")}
    assert after == before


@pytest.mark.slow
def test_a_build_on_local_ray_writes_the_same_vectors(tmp_path: Path) -> None:
    needs_ray()
    import ray

    one = make_assistant(CORPUS, tmp_path / "one")
    on_ray = make_assistant(CORPUS, tmp_path / "ray", ray_address="local", workers=2)
    built = on_ray.build()
    assert built.embedded_texts == len(on_ray.index.sentences) > 0
    assert not ray.is_initialized()  # the local Ray it started is shut down
    one.build()
    np.testing.assert_allclose(on_ray.index.sentence_vectors, one.index.sentence_vectors, atol=1e-6)
    assert on_ray.ask("What is gene therapy?").text == one.ask("What is gene therapy?").text


@pytest.mark.model
@pytest.mark.slow
def test_local_ray_gives_the_real_models_vectors() -> None:
    """In bf16, where another batch would change a vector by up to 2e-3: the actors encode the same batches."""
    needs_ray()
    embedder = SentenceTransformerEmbedder(precision="bf16")
    done: list[int] = []
    vectors = RayEmbedder(embedder, 384, "local", 2).encode(TEXTS, batch_size=8, progress=done.append)
    np.testing.assert_allclose(vectors, embedder.encode(TEXTS, batch_size=8), atol=1e-6)
    assert sum(done) == len(TEXTS)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RAY_ADDRESS"), reason="no Ray cluster: set RAY_ADDRESS to test one")
def test_a_real_ray_cluster_gives_the_same_vectors() -> None:
    """Only where a cluster is given (its nodes need this package installed); 'auto' finds RAY_ADDRESS."""
    needs_ray()
    embedder = HashEmbedder(64)
    done: list[int] = []
    vectors = RayEmbedder(embedder, 64, "auto").encode(TEXTS, batch_size=8, progress=done.append)
    np.testing.assert_allclose(vectors, embedder.encode(TEXTS, batch_size=8), atol=1e-6)
    assert sum(done) == len(TEXTS)
