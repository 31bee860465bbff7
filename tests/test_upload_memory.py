"""Issue 14 item 10: an upload to a served index leaves no torch and no model in the server.

The server embeds an upload's new sentences in a short-lived child process
(``index/child_embedder.py``): the ~450 MB that torch and the model take go away with it
(``scripts/upload-rss`` prints the RSS figures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.index.child_embedder import ChildProcessEmbedder
from assistant.index.embedding import HashEmbedder, SentenceTransformerEmbedder
from assistant.service import Assistant
from assistant.settings import Settings
from conftest import CORPUS, REPO


def test_a_server_build_embeds_in_a_child_unless_the_model_is_loaded(tmp_path) -> None:
    assistant = Assistant(Settings(corpus=CORPUS, index=tmp_path / "index", judge="rules"),
                          embedder=SentenceTransformerEmbedder())
    assistant.query_embedder = HashEmbedder(384)  # stands in for the ONNX encoder: only its dimension is read
    assert assistant._batch_embedder() is assistant.embedder  # the CLI builds in its own process
    assistant.embed_in_child = True
    child = assistant._batch_embedder()
    assert isinstance(child, ChildProcessEmbedder)
    assert child.name == assistant.embedder.name and child.dimension == 384
    assert not assistant.embedder.loaded
    assert child.encode([]).shape == (0, 384)  # nothing to embed: no child at all


def test_a_server_build_with_the_fake_embedder_stays_in_process(fake_assistant: Assistant) -> None:
    fake_assistant.embed_in_child = True
    assert fake_assistant._batch_embedder() is fake_assistant.embedder


SERVER = """
import json, shutil, sys
from pathlib import Path
from assistant.service import Assistant
from assistant.settings import Settings
root = Path(sys.argv[1])
shutil.copytree(sys.argv[2], root / "corpus")
settings = Settings(corpus=root / "corpus", index=root / "index", judge="rules")
builder = Assistant(settings); builder.embed_in_child = True; builder.ensure_index()
server = Assistant(settings); server.embed_in_child = True
server.index; server.query_embedder.encode(["warm up"])
doc = server.add_document("zorblax.txt", b"Zorblax Therapy\\n\\nZorblax therapy was approved in 2031 for glimmer syndrome.")
torch_loaded = "torch" in sys.modules
index = server.index
row = next(i for i, s in enumerate(index.sentences) if s.doc_id == doc and "2031" in s.text)
in_process = server.embedder.encode([index.sentences[row].text])[0]
print(json.dumps({"torch": torch_loaded, "docs": sorted(index.manifest.documents),
                  "cosine": float(in_process @ index.sentence_vectors[row])}))
"""


@pytest.mark.process
@pytest.mark.model
@pytest.mark.slow
def test_an_upload_leaves_no_torch_in_the_server_and_the_same_vectors(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-c", SERVER, str(tmp_path), str(CORPUS)], cwd=REPO, capture_output=True,
                            text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["torch"] is False
    assert "zorblax.txt" in report["docs"]
    # the child's vector is the model's vector (to the precision the index stores vectors in)
    assert report["cosine"] == pytest.approx(1.0, abs=1e-2)
