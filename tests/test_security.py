"""Security probes against the running server (``assistant serve``, fake embedder): file
routes, CORS, error bodies, malformed API calls and the address it binds.

The server runs with its working folder holding the corpus, the index and a secret file, so
that a file route serving anything from there (relative or absolute) would be caught.
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import urllib.parse
from pathlib import Path

import pytest
from conftest import CORPUS, CORPUS_FILES
from serving import running_server
from test_cli import GELSINGER_Q

from assistant.index.manifest import current_version
from assistant.serve.arguments import build_parser

pytestmark = pytest.mark.process  # every test probes `assistant serve` in a child process

SECRET = "TOP-SECRET-7f3a9c"
TRACE_MARKERS = ("Traceback", 'File "', "site-packages")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("security")
    shutil.copytree(CORPUS, root / "corpus")
    (root / "secret.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    with running_server(root, root / "corpus", root / "index") as server:
        yield root, server


def request(server, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """One HTTP request with the path sent exactly as given (no normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        try:
            data = response.read()
        except http.client.IncompleteRead as exc:  # a stream the server ended early
            data = exc.partial
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data.decode("utf-8", "replace")
    finally:
        connection.close()


def no_trace(body: str) -> None:
    for marker in TRACE_MARKERS:
        assert marker not in body, body[:500]


# --- file routes -------------------------------------------------------------------------------


def file_probes(root: Path) -> list[str]:
    manifest = current_version(root / "index") / "manifest.json"
    corpus_file = root / "corpus" / CORPUS_FILES[0]
    quoted = urllib.parse.quote(str(manifest), safe="")
    return [
        "/gradio_api/file=/etc/passwd",
        "/file=/etc/passwd",
        "/gradio_api/file/etc/passwd",
        "/gradio_api/file=%2fetc%2fpasswd",
        "/gradio_api/file=..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/gradio_api/file=../../../../../etc/passwd",
        "/gradio_api/file=%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        "/gradio_api/file=//etc/passwd",
        "/gradio_api/file=file:///etc/passwd",
        "/gradio_api/file=/etc/passwd%00.png",
        "/gradio_api/file=/proc/self/environ",
        "/static/../../../../../etc/passwd",
        "/assets/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        f"/gradio_api/file={manifest}",
        f"/gradio_api/file={quoted}",
        f"/gradio_api/file={manifest.parent}/dense.faiss",
        f"/gradio_api/file={root / 'index' / 'CURRENT'}",
        "/gradio_api/file=index/CURRENT",
        f"/gradio_api/file={corpus_file}",
        f"/gradio_api/file=corpus/{CORPUS_FILES[0]}",
        f"/gradio_api/file={root / 'corpus'}",
        f"/gradio_api/file={root / 'secret.txt'}",
        "/gradio_api/file=secret.txt",
        f"/gradio_api/file={root}/corpus/../secret.txt",
        f"/file={root / 'secret.txt'}",
    ]


def test_file_routes_serve_nothing_from_disk(site) -> None:
    root, server = site
    corpus_text = (root / "corpus" / CORPUS_FILES[0]).read_text(encoding="utf-8")[:80]
    results = []
    for path in file_probes(root):
        status, _, body = request(server, "GET", path)
        results.append((status, path))
        assert status in (400, 403, 404), (path, status, body[:200])
        for leaked in ("root:x:0:0", "PATH=", '"format_version"', SECRET, corpus_text):
            assert leaked not in body, (path, leaked)
        no_trace(body)
    assert len(results) == 25


# --- CORS --------------------------------------------------------------------------------------

EVIL = "https://evil.example"


@pytest.mark.parametrize("origin", [EVIL, "null", "http://127.0.0.1.evil.example", "http://localhost.evil.example"])
def test_other_origins_get_no_cors_approval(site, origin: str) -> None:
    _, server = site
    body = json.dumps({"data": ["What is gene therapy?", 2, "hybrid", None]}).encode()
    for method, path, payload, extra in [
        ("GET", "/", None, {}),
        ("GET", "/gradio_api/info", None, {}),
        ("POST", "/gradio_api/call/ask", body, {"Content-Type": "application/json"}),
        ("OPTIONS", "/gradio_api/call/ask", None, {"Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "content-type"}),
        ("POST", "/api/ask", b'{"question": "What is gene therapy?"}', {"Content-Type": "application/json"}),
        ("OPTIONS", "/api/ask", None, {"Access-Control-Request-Method": "POST",
                                       "Access-Control-Request-Headers": "content-type"}),
    ]:
        _, headers, _ = request(server, method, path, payload, {"Origin": origin, **extra})
        allowed = headers.get("access-control-allow-origin")
        assert allowed not in (origin, "*"), (method, path, origin, allowed)


def test_the_page_s_own_origin_is_approved(site) -> None:
    """The control for the test above: the same middleware approves the local origin."""
    _, server = site
    origin = f"http://127.0.0.1:{server.port}"
    _, headers, _ = request(server, "GET", "/", headers={"Origin": origin})
    assert headers.get("access-control-allow-origin") == origin


# --- errors ------------------------------------------------------------------------------------

MALFORMED = [
    ("POST", "/gradio_api/call/ask", b'{"data":', "application/json"),
    ("POST", "/gradio_api/call/ask", b"[]", "application/json"),
    ("POST", "/gradio_api/call/ask", b'{"data": "not a list"}', "application/json"),
    ("POST", "/gradio_api/call/ask", b"\xff\xfe\x00garbage", "application/json"),
    ("POST", "/gradio_api/call/nonexistent", b'{"data": ["x"]}', "application/json"),
    ("POST", "/gradio_api/queue/join", b'{"data": ["x"]}', "application/json"),
    ("POST", "/gradio_api/queue/join", b'{"data": [], "fn_index": 99999, "session_hash": "abc"}',
     "application/json"),
    ("POST", "/gradio_api/run/predict", b'{"data": ["x"]}', "application/json"),
    ("POST", "/gradio_api/upload", b"--x\r\nnot multipart", "multipart/form-data; boundary=x"),
    ("GET", "/gradio_api/call/ask/not-an-event-id", None, None),
    ("POST", "/api/ask", b'{"question":', "application/json"),
    ("POST", "/api/ask", b"[]", "application/json"),
    ("POST", "/api/ask", b'{"question": 7}', "application/json"),
    ("POST", "/api/ask", b"\xff\xfe\x00garbage", "application/json"),
    ("POST", "/api/check", b'{"text": ["x"]}', "application/json"),
    ("GET", "/api/ask", None, None),
]


@pytest.mark.parametrize(("method", "path", "body", "content_type"), MALFORMED)
def test_malformed_requests_get_no_stack_trace(site, method: str, path: str, body: bytes | None,
                                               content_type: str | None) -> None:
    _, server = site
    headers = {"Content-Type": content_type} if content_type else {}
    status, _, text = request(server, method, path, body, headers)
    assert status != 200 or "error" in text.lower() or text.strip() in ("", "{}"), (status, text[:300])
    no_trace(text)


def call(server, api: str, data: list) -> tuple[str, object]:
    """Gradio's two-step call API: the final event name and its data."""
    status, _, text = request(server, "POST", f"/gradio_api/call/{api}", json.dumps({"data": data}).encode(),
                              {"Content-Type": "application/json"})
    assert status == 200, text
    _, _, stream = request(server, "GET", f"/gradio_api/call/{api}/{json.loads(text)['event_id']}")
    no_trace(stream)
    event, payload = "", None
    for line in stream.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            payload = json.loads(line.split(":", 1)[1])
    return event, payload


BAD_CALLS = [  # arguments of `ask` -> words of the one-line error in the answer
    (["What is gene therapy?", 2, "fuzzy", None], "unknown mode"),
    (["What is gene therapy?", "abc", "hybrid", None], "max_sentences"),
    (["What is gene therapy?", 10 ** 9, "hybrid", None], "max_sentences"),
    (["What is gene therapy?", -1, "hybrid", None], "max_sentences"),
    (["What is gene therapy?", 2, "hybrid", 5], "documents"),
    (["What is gene therapy?", 2, "hybrid", [1, 2]], "documents"),
    ([None, 2, "hybrid", None], "question must be text"),
    ([{"a": 1}, 2, "hybrid", None], "question must be text"),
    (["", 2, "hybrid", None], "question is empty"),
    (["x" * 100_000, 2, "hybrid", None], "limit is"),
    (["What is gene therapy?", 2, "hybrid", ["../../etc/passwd"]], "passwd"),
]


@pytest.mark.parametrize(("data", "words"), BAD_CALLS)
def test_bad_api_arguments_get_a_clear_error(site, data: list, words: str) -> None:
    _, server = site
    event, payload = call(server, "ask", data)
    assert event == "complete", (event, payload)
    assert isinstance(payload, list) and set(payload[0]) == {"error"}, payload
    message = payload[0]["error"]
    assert words in message and "\n" not in message, message


def test_check_api_rejects_a_non_text_argument(site) -> None:
    _, server = site
    event, payload = call(server, "check", [None])
    assert event == "complete" and "error" in payload[0], payload
    event, payload = call(server, "check", [["a list"]])
    assert event == "complete" and "error" in payload[0], payload


def test_server_still_answers_after_the_probes(site) -> None:
    _, server = site
    event, payload = call(server, "ask", [GELSINGER_Q, 2, "hybrid", None])
    assert event == "complete" and payload[0]["question"] == GELSINGER_Q and payload[0]["citations"], payload
    assert "gradio.live" not in server.log_text()  # never a share link


# --- bound address -----------------------------------------------------------------------------


def test_serve_binds_loopback_by_default() -> None:
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of the sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.append(address)
    return found


def _outward_address() -> str | None:
    """This machine's non-loopback address, if it has one (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_server_listens_on_loopback_only(site) -> None:
    _, server = site
    addresses = _listening_addresses(server.port)
    assert addresses, "the server's listening socket is not in /proc/net/tcp"
    assert set(addresses) == {"0100007F"}, addresses  # 127.0.0.1, nothing else (no 0.0.0.0, no ::)
    outward = _outward_address()
    if outward is None:
        pytest.skip("no non-loopback address to try")
    with pytest.raises(OSError):
        socket.create_connection((outward, server.port), timeout=3).close()


def test_the_plain_json_route_answers_with_verifiable_citations(site) -> None:
    root, server = site
    status, headers, text = request(server, "POST", "/api/ask",
                                    json.dumps({"question": "What is gene therapy?", "max_sentences": 1}).encode(),
                                    {"Content-Type": "application/json"})
    assert status == 200 and headers["content-type"].startswith("application/json"), text[:300]
    answer = json.loads(text)
    assert not answer["abstained"] and len(answer["citations"]) == 1
    citation = answer["citations"][0]
    source = (root / "corpus" / citation["doc"]).read_text(encoding="utf-8")
    assert source[citation["start"]:citation["end"]] == citation["quote"]
    status, _, text = request(server, "POST", "/api/ask", json.dumps({"question": "x", "mode": "fuzzy"}).encode(),
                              {"Content-Type": "application/json"})
    assert status == 400 and json.loads(text) == {"error": "unknown mode 'fuzzy'; use hybrid, dense or bm25"}
