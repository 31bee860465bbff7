"""Helpers shared by the reliability tests: a generated corpus, ``assistant serve`` in a child
process (fake embedder), and the server's resident memory."""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conftest import CORPUS, FAKE_MODEL, REPO

STARTUP_TIMEOUT_S = 120

# Sentences of the seed corpus, recombined into new documents that the cleaner keeps as content.
SOURCE_SENTENCES = [s for p in sorted(CORPUS.iterdir()) if p.is_file()
                    for s in re.split(r"(?<=[.!?])\s+", p.read_text(encoding="utf-8"))
                    if len(s.split()) > 6 and s[:1].isupper() and s.endswith(".")]


def generated_document(rng: random.Random, number: int, paragraphs: int = 8) -> str:
    """A plausible document: a title and paragraphs of corpus sentences plus a unique sentence."""
    body = "\n\n".join(
        " ".join(rng.choice(SOURCE_SENTENCES) for _ in range(5))
        + f" Sample {number}-{i} was recorded with code {rng.randrange(10 ** 6)}."
        for i in range(paragraphs))
    return f"Generated Report {number}\n\n{body}\n"


def write_generated_corpus(folder: Path, count: int, seed: int = 0, paragraphs: int = 8) -> list[Path]:
    """``count`` generated documents doc000.txt, doc001.txt, ... in ``folder``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        path = folder / f"doc{number:03d}.txt"
        path.write_text(generated_document(rng, number, paragraphs), encoding="utf-8")
        paths.append(path)
    return paths


def child_env(**extra: str) -> dict[str, str]:
    """The environment of an ``assistant`` child: fake embedder, offline, this checkout first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_MODEL=FAKE_MODEL, ASSISTANT_JUDGE="rules", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen
    log: Path
    ready_s: float

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def rss_kib(self) -> int:
        return rss_kib(self.process.pid)

    def cpu_s(self) -> float:
        """User plus system CPU seconds the server has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (from /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


@contextmanager
def running_server(root: Path, corpus: Path, index: Path, *args: str, **env: str):
    """``python -m assistant serve`` on a free port with the fake embedder; stopped on exit."""
    port = free_port()
    log = root / f"server-{port}.log"
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--corpus", str(corpus), "--index", str(index),
             "--port", str(port), *args], cwd=root, env=child_env(**env), stdout=out, stderr=subprocess.STDOUT)
    try:
        while not answers_http(url):
            if process.poll() is not None:
                raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            if time.perf_counter() - started > STARTUP_TIMEOUT_S:
                raise AssertionError(f"server did not answer within {STARTUP_TIMEOUT_S}s:\n"
                                     f"{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield Server(url=url, port=port, process=process, log=log, ready_s=time.perf_counter() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
