"""The corpus tab in real Chromium (issue 14 item 3): nothing pre-selected, remove -> confirm
naming the title -> the document is gone -> Undo -> it is back and answerable again.

The server runs the fake embedder (``ASSISTANT_MODEL=hash-64``, the rules instead of the judge)
so that it starts in seconds; the page is the real one. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import shutil

import pytest

from conftest import CORPUS, REPO
from serving import running_server

ARTIFACTS = REPO / "test-artifacts"
STEP_TIMEOUT_MS = 60_000

from test_browser import CHROMIUM, CHROMIUM_ARGS, sync_api  # noqa: E402  (skips this module without Chromium)

pytestmark = [pytest.mark.browser]

DOC = "zorblax_notes.txt"
TITLE = "Zorblax Therapy Notes"
TEXT = (f"{TITLE}\n\nZorblax therapy was approved in 2031 for treating glimmer syndrome. "
        "Glimmer syndrome is a rare inherited condition that makes the skin shimmer under moonlight. "
        "A single Zorblax infusion is expected to work for at least a decade.\n")
QUESTION = "When was Zorblax therapy approved?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """``python -m assistant serve`` with the fake embedder on a copy of the corpus plus DOC."""
    root = tmp_path_factory.mktemp("browser-corpus")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / DOC).write_text(TEXT, encoding="utf-8")
    with running_server(root, corpus, root / "index", ASSISTANT_JUDGE="rules") as running:
        yield running.url, corpus


def ask_api(url: str, documents: list[str] | None) -> tuple[int, dict]:
    """POST /api/ask; (status, body)."""
    import json
    import urllib.error
    import urllib.request

    body = json.dumps({"question": QUESTION, "documents": documents}).encode()
    request = urllib.request.Request(url + "api/ask", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_remove_asks_naming_the_title_and_undo_brings_the_document_back(server) -> None:
    url, corpus = server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.get_by_role("tab", name="Corpus").click()
        expect = sync_api.expect
        expect(page.locator("#documents")).to_contain_text(TITLE)
        # nothing is pre-selected: Remove only asks to choose
        page.locator("#remove").click()
        expect(page.locator("#corpus-status")).to_contain_text("Choose a document to remove", timeout=STEP_TIMEOUT_MS)
        assert (corpus / DOC).exists()

        page.locator("#remove-choice input").fill("Zorblax")
        page.get_by_role("option", name=TITLE).click()
        page.locator("#remove").click()
        expect(page.locator("#corpus-status")).to_contain_text(f"Remove {TITLE}", timeout=STEP_TIMEOUT_MS)
        assert (corpus / DOC).exists()  # asking removes nothing
        page.screenshot(path=str(ARTIFACTS / "corpus-remove-confirm.png"))

        page.locator("#remove-confirm").click()
        expect(page.locator("#corpus-status")).to_contain_text(f"Removed {TITLE}", timeout=STEP_TIMEOUT_MS)
        expect(page.locator("#documents")).not_to_contain_text(TITLE)
        assert not (corpus / DOC).exists() and list((corpus / ".trash").rglob(DOC))
        status, body = ask_api(url, [DOC])
        assert status == 400 and "unknown" in body["error"]
        page.screenshot(path=str(ARTIFACTS / "corpus-removed-undo.png"))

        page.locator("#undo-remove").click()
        expect(page.locator("#corpus-status")).to_contain_text(f"Restored {TITLE}", timeout=STEP_TIMEOUT_MS)
        expect(page.locator("#documents")).to_contain_text(TITLE)
        expect(page.locator("#undo-remove")).to_be_hidden()
        assert (corpus / DOC).read_text(encoding="utf-8") == TEXT
        status, body = ask_api(url, [DOC])
        assert status == 200 and body["citations"] and body["citations"][0]["doc"] == DOC
        assert "2031" in body["text"]
        browser.close()
