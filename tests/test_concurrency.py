"""Questions are answered from the current index while a build or upload is running."""

from __future__ import annotations

import threading
import time

from conftest import FAKE_MODEL

from assistant.index.embedding import HashEmbedder
from assistant.service import Assistant
from assistant.settings import Settings


class SlowBatchEmbedder(HashEmbedder):
    """Batches (index builds) take a second; single questions are instant."""

    def __init__(self) -> None:
        super().__init__(64)
        self.name = FAKE_MODEL
        self.building = threading.Event()

    def encode(self, texts, batch_size=64, progress=None):
        if len(texts) > 1:
            self.building.set()
            time.sleep(1.0)
        return super().encode(texts, batch_size, progress)


def test_questions_do_not_wait_for_an_upload(corpus_copy, tmp_path):
    embedder = SlowBatchEmbedder()
    assistant = Assistant(Settings(corpus=corpus_copy, index=tmp_path / "index", model=FAKE_MODEL), embedder=embedder)
    assistant.build()
    embedder.building.clear()
    upload = threading.Thread(target=assistant.add_document, args=(
        "zorblax.txt", b"Zorblax therapy was approved in 2031 for treating glimmer syndrome in adults. "
                       b"It is given as a single infusion and costs nine hundred dollars per dose.\n"))
    upload.start()
    assert embedder.building.wait(10)
    answer = assistant.ask("Who died in 1999 during a gene therapy study?", abstain=False)
    still_building = upload.is_alive()
    upload.join(30)
    assert answer.citations and still_building, "the question should be answered while the build runs"
    assert "zorblax.txt" in assistant.index.manifest.documents
