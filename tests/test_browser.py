"""The browser UI end to end: the real ``assistant serve`` (bundled model) driven by headless
Chromium through Playwright.

One server and one page serve the whole module, and the tests run in file order (the upload
test adds a document; the last test checks the console of everything before it). Screenshots
go to ``test-artifacts/``; startup and answer timings are printed and written to
``test-artifacts/browser-timings.json``.

Needs Debian's Chromium at /usr/bin/chromium (``scripts/ensure-env`` installs it when it can);
the module is skipped with the reason otherwise. Select or leave out with ``-m browser``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from serving import answers_http, free_port
from conftest import CORPUS, QUESTIONS, REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"
DOCS = REPO / "docs"
CONFLICT_CORPUS = REPO / "tests" / "data" / "conflict_corpus"
VORELIX_Q = "Has Vorelix been approved by the FDA?"
STARTUP_TIMEOUT_S = 120
ANSWER_TIMEOUT_MS = 60_000
LAST = "#conversation .turns > .turn:last-child"  # the latest question and its answer
PANEL = "#conversation .side-panel"

if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium; scripts/ensure-env "
                "does it when run as root)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package "
                               "(pip install -e '.[test]')")
gradio_client = pytest.importorskip("gradio_client")

pytestmark = [pytest.mark.browser, pytest.mark.model]

COST_Q = "How much does Zolgensma cost?"
HOSTILE_DOC_ID = "quuxitol_field_notes.txt"
HOSTILE_SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE_IMG = "<img src=x onerror=window.__pwned=1>"
HOSTILE_DOC = (
    "Quuxitol Field Notes\n\n"
    "Quuxitol is an experimental enzyme therapy that was first tested in 2029 at a clinic in Tromsø. "
    f"The clinic's web page once showed the raw markup {HOSTILE_SCRIPT} because of a publishing error. "
    f"The Quuxitol label printer wrote the string {HOSTILE_IMG} on every vial. "
    "Quuxitol is given to patients as a monthly infusion.\n"
)
UPLOAD_NAME = "zorblax_notes.txt"
UPLOAD_TEXT = (
    "Zorblax Therapy Notes\n\n"
    "Zorblax therapy was approved in 2031 for treating glimmer syndrome. "
    "Glimmer syndrome is a rare inherited condition that makes the skin shimmer under moonlight. "
    "A single Zorblax infusion is expected to work for at least a decade.\n"
)


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    started: float  # perf_counter at process start
    ready_s: float  # process start -> HTTP 200
    log: Path
    first_answer_s: float | None = None  # process start -> first answer rendered in the page
    timings: dict[str, object] = field(default_factory=dict)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """``python -m assistant serve`` on a copy of the corpus (plus a document full of markup) and
    a fresh index, with the real bundled model; stopped after the module."""
    root = tmp_path_factory.mktemp("browser")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / HOSTILE_DOC_ID).write_text(HOSTILE_DOC, encoding="utf-8")
    for dated in sorted(CONFLICT_CORPUS.iterdir()):  # two dated documents that disagree (2014 vs 2019)
        shutil.copy2(dated, corpus / dated.name)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    log = root / "server.log"
    url = f"http://127.0.0.1:{port}/"
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--corpus", str(corpus), "--index", str(root / "index"),
             "--port", str(port)], cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        while not answers_http(url):
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            if time.perf_counter() - started > STARTUP_TIMEOUT_S:
                pytest.fail(f"server did not answer within {STARTUP_TIMEOUT_S}s:\n"
                            f"{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.25)
        yield Server(url=url, process=process, started=started, ready_s=time.perf_counter() - started, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def api(server: Server):
    """The server's API (``/ask`` returns the answer contract)."""
    return gradio_client.Client(server.url, verbose=False)


@pytest.fixture(scope="module")
def console_errors() -> list[str]:
    return []


@pytest.fixture(scope="module")
def page(server: Server, console_errors: list[str]):
    """One Chromium page on the app for the whole module; console errors are collected."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        the_page = context.new_page()
        the_page.set_default_timeout(ANSWER_TIMEOUT_MS)

        def on_console(message) -> None:
            if message.type == "error" and "favicon" not in (message.location or {}).get("url", "") \
                    and "favicon" not in message.text:
                console_errors.append(f"console: {message.text} ({message.location})")

        the_page.on("console", on_console)
        the_page.on("pageerror", lambda error: console_errors.append(f"page error: {error}"))
        the_page.goto(server.url)
        the_page.wait_for_selector("#question textarea")
        yield the_page
        context.close()
        browser.close()


# --- helpers -------------------------------------------------------------------------------------

_ARM = """() => {
  const root = document.querySelector('#conversation');
  const before = root.querySelectorAll('.turns > .turn').length;
  const t = window.__answerTiming = {enter: null, rendered: null};
  document.querySelector('#question textarea').addEventListener('keydown', e => {
    if (e.key === 'Enter' && t.enter === null) { t.enter = performance.now(); }
  });
  const seen = () => {
    if (t.rendered === null && root.querySelectorAll('.turns > .turn').length > before) {
      t.rendered = performance.now(); observer.disconnect();
    }
  };
  const observer = new MutationObserver(seen);
  observer.observe(root, {childList: true, subtree: true, attributes: true, characterData: true});
}"""


def ask(page, server: Server, question: str) -> float:
    """Type a question, press Enter and wait for the new answer card; the time from the Enter
    key to the rendered card, in milliseconds, measured in the page."""
    page.evaluate(_ARM)
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function("window.__answerTiming.rendered !== null", timeout=ANSWER_TIMEOUT_MS)
    timing = page.evaluate("window.__answerTiming")
    assert page.locator(f"{LAST} .bubble.assistant").count() == 1, "no answer bubble"
    if server.first_answer_s is None:
        server.first_answer_s = time.perf_counter() - server.started
    return timing["rendered"] - timing["enter"]


def card_text(page) -> str:
    return page.locator(f"{LAST} .bubble.assistant").inner_text()


def norm(text: str) -> str:
    return " ".join(text.split())


def new_conversation(page) -> None:
    """Clear the conversation and wait until the empty card is shown (so that the reply of the
    clear cannot be mistaken for the next answer)."""
    page.get_by_role("button", name="New conversation").click()
    page.wait_for_selector("#conversation .conversation[data-turns='0']")


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def click_chip(page, marker: str | None = None):
    """Click a chip (the first one unless ``marker``) and return its now visible source panel."""
    chips = page.locator(f"{LAST} .chip")
    chip = chips.first if marker is None else page.locator(f"{LAST} .chip[data-marker='{marker}']").first
    marker = chip.get_attribute("data-marker")
    chip.click()
    turn = chip.get_attribute("data-turn")
    source = page.locator(f"{PANEL} .turn-sources[data-turn='{turn}'] .source[data-marker='{marker}']")
    sync_api.expect(source).to_be_visible()
    return source


def shot(page, name: str, **kwargs) -> Path:
    path = ARTIFACTS / name
    page.screenshot(path=str(path), **kwargs)
    return path


def shot_docs(page, name: str, **kwargs) -> Path:
    """A screenshot for the README (docs/) and a copy among the test artifacts."""
    DOCS.mkdir(exist_ok=True)
    path = DOCS / name
    page.screenshot(path=str(path), **kwargs)
    shutil.copy(path, ARTIFACTS / name)
    return path


def report(capsys: pytest.CaptureFixture, server: Server, lines: list[str]) -> None:
    """Print to the terminal (past pytest's capture) and keep the timings in
    test-artifacts/browser-timings.json."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "browser-timings.json").write_text(json.dumps(server.timings, indent=2) + "\n")
    with capsys.disabled():
        print("\n" + "\n".join(f"[browser] {line}" for line in lines), flush=True)


# --- tests ---------------------------------------------------------------------------------------


def test_answer_chip_shows_the_cited_passage(page, server: Server, api, capsys: pytest.CaptureFixture) -> None:
    ms = ask(page, server, COST_Q)
    server.timings.update(ready_s=round(server.ready_s, 2), first_answer_s=round(server.first_answer_s or 0, 2),
                          first_answer_ms=round(ms, 1))
    report(capsys, server, [f"server answered HTTP 200 {server.ready_s:.1f}s after start (index built from scratch)",
                    f"first question answered in the page {server.first_answer_s:.1f}s after start"])
    assert "2.1 million" in card_text(page)
    assert page.locator(f"{LAST} .chip").count() >= 1
    assert page.locator(f"{PANEL} .source:visible").count() == 0  # panels open on click only

    expected = api.predict(COST_Q, 2, "hybrid", None, api_name="/ask")
    assert not expected["abstained"], expected
    source = click_chip(page)
    marker = int(source.get_attribute("data-marker"))
    quote = next(c["quote"] for c in expected["citations"] if c["marker"] == marker)
    assert norm(source.locator(".passage mark.cited").inner_text()) == norm(quote)
    assert "2.1 million" in quote
    assert page.locator(f"{LAST} .chip.active").get_attribute("data-marker") == str(marker)
    assert page.locator(f"{PANEL} .source:visible").count() == 1
    cited = next(c for c in expected["citations"] if c["marker"] == marker)
    assert cited["doc"] in source.locator(".source-doc").inner_text()
    # the Markdown export carries the reference list
    markdown = page.locator("#answer-markdown textarea").input_value()
    assert markdown.startswith(f"**{COST_Q}**") and "References:" in markdown and cited["doc"] in markdown
    source.scroll_into_view_if_needed()
    shot(page, "answer-with-source.png")
    shot(page, "answer-with-source-full.png", full_page=True)


def test_off_topic_question_abstains(page, server: Server) -> None:
    ask(page, server, "What is the capital of Australia?")
    assert "The documents don't say" in card_text(page)
    assert page.locator(f"{LAST} .bubble.assistant").get_attribute("data-abstained") == "true"
    assert page.locator(f"{LAST} .chip").count() == 0
    shot(page, "abstention.png")


def test_follow_up_question_is_resolved_and_shown(page, server: Server) -> None:
    new_conversation(page)
    ask(page, server, COST_Q)
    ask(page, server, "When was it approved?")
    text = card_text(page)
    assert "Searched for:" in text and "Zolgensma" in text.split("Searched for:", 1)[1].splitlines()[0]
    assert page.locator(f"{LAST} .chip").count() >= 1
    # the conversation keeps both turns
    chat = page.locator("#conversation .turns").inner_text()
    assert COST_Q in chat and "When was it approved?" in chat
    shot(page, "follow-up.png")


def test_uploaded_document_is_answerable(page, server: Server, tmp_path: Path) -> None:
    upload = tmp_path / UPLOAD_NAME
    upload.write_text(UPLOAD_TEXT, encoding="utf-8")
    open_tab(page, "Corpus")
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    status = page.locator("#corpus-status")
    sync_api.expect(status).to_contain_text(f"added {UPLOAD_NAME}", timeout=ANSWER_TIMEOUT_MS)
    sync_api.expect(page.locator("#documents")).to_contain_text(UPLOAD_NAME)
    shot(page, "upload-status.png")

    open_tab(page, "Chat")
    new_conversation(page)
    ask(page, server, "When was Zorblax therapy approved?")
    assert "2031" in page.locator(f"{LAST} .answer-text").inner_text()
    sources = [click_chip(page, chip.get_attribute("data-marker"))
               for chip in page.locator(f"{LAST} .chip").all()]
    docs = [s.locator(".source-doc").inner_text() + " " + s.locator(".source-title").inner_text() for s in sources]
    assert any(UPLOAD_NAME in d for d in docs), docs
    shot(page, "uploaded-answer.png")


def test_document_markup_is_shown_as_text_and_never_runs(page, server: Server) -> None:
    new_conversation(page)
    for question, expected in [("When was Quuxitol first tested?", "2029"),
                               ("What string did the Quuxitol label printer write on every vial?", "label printer")]:
        ask(page, server, question)
        assert expected in page.locator(f"{LAST} .answer-text").inner_text()
        source = None
        for chip in page.locator(f"{LAST} .chip").all():
            candidate = click_chip(page, chip.get_attribute("data-marker"))
            if HOSTILE_DOC_ID in candidate.locator(".source-doc").inner_text():
                source = candidate
                break
        assert source is not None, "no citation of the document with markup"
        whole = source.locator("details.whole-doc")
        whole.locator("summary").click()
        sync_api.expect(whole.locator(".doc-view")).to_be_visible()
        shown = whole.locator(".doc-view").inner_text()
        assert HOSTILE_SCRIPT in shown and HOSTILE_IMG in shown
        assert page.evaluate("typeof window.__pwned") == "undefined"
    # the second answer quotes the <img> sentence: literal in the card, the chat and the Markdown
    assert HOSTILE_IMG in page.locator(f"{LAST} .answer-text").inner_text()
    assert HOSTILE_IMG in page.locator("#conversation .turns").inner_text()
    assert HOSTILE_IMG in page.locator("#answer-markdown textarea").input_value()
    # a question carrying markup is echoed as text too
    ask(page, server, "Is <img src=y onerror=window.__pwned=2> mentioned by Quuxitol notes?")
    assert page.locator("img[src='x'], img[src='y'], #conversation script").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    shot(page, "markup-as-text.png")


def test_inline_chip_opens_its_own_answers_source_and_earlier_answers_keep_theirs(page, server: Server, api) -> None:
    new_conversation(page)
    ask(page, server, COST_Q)
    ask(page, server, "Which gene does Luxturna deliver to retinal cells?")
    first = page.locator("#conversation .turns > .turn[data-turn='0']")
    second = page.locator("#conversation .turns > .turn[data-turn='1']")
    # the first answer still has its inline chips and its sources list after the second question
    assert first.locator(".bubble.assistant .answer-text .chip").count() >= 1
    assert first.locator(".source-list .source-item").count() == first.locator(".answer-text .chip").count()
    expected = api.predict(COST_Q, 2, "hybrid", None, api_name="/ask")
    titles = first.locator(".source-list").inner_text()
    assert all(c["title"] in titles for c in expected["citations"]), titles
    # the answer text appears once: no other element of the page repeats it
    assert page.locator("#conversation").inner_text().count("2.1 million dollars per dose") <= 2  # bubble + list

    chip = first.locator(".answer-text .chip").first
    marker = chip.get_attribute("data-marker")
    chip.hover()  # hovering previews the cited sentence
    preview = chip.locator(".preview")
    sync_api.expect(preview).to_be_visible()
    quote = next(c["quote"] for c in expected["citations"] if str(c["marker"]) == marker)
    assert norm(quote) in norm(preview.inner_text())
    chip.click()
    shown = page.locator(f"{PANEL} .source:visible")
    sync_api.expect(shown).to_have_count(1)
    assert shown.evaluate("s => s.closest('.turn-sources').dataset.turn") == "0"
    assert norm(shown.locator(".passage mark.cited").inner_text()) == norm(quote)
    assert "Answer 1: " + COST_Q in shown.inner_text()
    page.mouse.move(0, 0)
    shot_docs(page, "chat-desktop.png")

    # the side panel switches to the answer you click: a source of the second answer
    second.locator(".source-list .source-item").first.click()
    shown = page.locator(f"{PANEL} .source:visible")
    sync_api.expect(shown).to_have_count(1)
    assert shown.evaluate("s => s.closest('.turn-sources').dataset.turn") == "1"
    assert "Answer 2: " in shown.inner_text()
    assert second.locator(".source-item.active").count() == 1 and first.locator(".chip.active").count() == 0

    page.set_viewport_size({"width": 390, "height": 844})
    try:
        first.locator(".answer-text .chip").first.click()
        sync_api.expect(page.locator(f"{PANEL} .source:visible")).to_have_count(1)
        box = page.locator("#conversation .side-panel").bounding_box()
        assert box is not None and box["width"] <= 390  # stacked under the conversation, not beside it
        page.locator("#conversation .turns").evaluate("t => { t.scrollTop = 0; }")
        page.evaluate("window.scrollTo(0, 0)")
        shot_docs(page, "chat-phone.png", full_page=True)
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_sources_disagree_for_two_dated_documents(page, server: Server) -> None:
    new_conversation(page)
    ask(page, server, VORELIX_Q)
    bubble = page.locator(f"{LAST} .bubble.assistant")
    assert bubble.get_attribute("data-abstained") == "false", bubble.inner_text()
    conflict = bubble.locator(".conflict")
    sync_api.expect(conflict).to_have_count(1)
    text = norm(conflict.inner_text())
    assert text.startswith("Sources disagree") and "newest first" in text
    assert "2019-06-05" in text and "2014-03-02" in text and text.index("2019-06-05") < text.index("2014-03-02")
    assert "has not been approved" in text and "approved Vorelix" in text
    shot_docs(page, "sources-disagree.png")


def test_answer_latency_in_the_browser(page, server: Server, capsys: pytest.CaptureFixture) -> None:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = list(dict.fromkeys(r["question"] for r in rows))[:20]
    assert len(questions) == 20
    new_conversation(page)
    times = []
    for question in questions:
        times.append(ask(page, server, question))
        assert page.locator(f"{LAST} .bubble.assistant").inner_text().strip()
    ordered = sorted(times)
    median = statistics.median(ordered)
    p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]
    server.timings.update(answer_ms_median=round(median, 1), answer_ms_p95=round(p95, 1),
                          answer_ms=[round(t, 1) for t in times])
    report(capsys, server, [f"Enter -> rendered answer card over {len(times)} questions: median {median:.0f} ms, "
                    f"p95 {p95:.0f} ms (max {ordered[-1]:.0f} ms)"])


def test_no_console_errors(page, console_errors: list[str]) -> None:
    assert console_errors == []
