"""Benchmark of the server: latency through ``assistant serve`` over plain HTTP, and its memory.

Both the JSON route ``POST /api/ask`` (the figure reported) and Gradio's two-step API are timed.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from assistant.eval.timing import rss_mb, stats
from assistant.settings import local_models_env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]



def _plain_ask(base: str, question: str) -> dict:
    """One call of the server's plain JSON route ``POST /api/ask``."""
    request = urllib.request.Request(f"{base}/api/ask", data=json.dumps({"question": question}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())



def _http_ask(base: str, question: str) -> dict:
    """One call of the server's `ask` endpoint with plain HTTP (Gradio's two-step call API)."""
    body = json.dumps({"data": [question, 2, "hybrid", None]}).encode()
    request = urllib.request.Request(f"{base}/gradio_api/call/ask", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        event = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{base}/gradio_api/call/ask/{event}", timeout=60) as response:
        payload = response.read().decode()
    for line in payload.splitlines():
        if line.startswith("data:"):
            return json.loads(line[5:])[0]
    raise RuntimeError(f"no data in the server's reply: {payload[:200]}")



def http_latency(index: Path, questions: Sequence[str]) -> dict[str, object]:
    """Latency through `assistant serve` over plain HTTP: the JSON route ``/api/ask`` (the figure
    reported) and Gradio's two-step API for comparison, alternating; and the server's memory."""
    port = _free_port()
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--index", str(index), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=local_models_env())
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                _http_ask(base, questions[0])
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 180:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.3)
        ready = time.perf_counter() - started
        timed: dict[str, list[float]] = {"plain": [], "gradio": []}
        for question in questions:
            for name, call in (("plain", _plain_ask), ("gradio", _http_ask)):
                t = time.perf_counter()
                call(base, question)
                timed[name].append((time.perf_counter() - t) * 1000)
        return {"serve_to_first_answer_s": round(ready, 2), "total_ms": stats(timed["plain"]),
                "gradio_api_ms": stats(timed["gradio"]), **rss_mb(server.pid)}
    finally:
        server.terminate()
        server.wait(timeout=30)
