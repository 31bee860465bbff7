"""Timing and memory helpers shared by the benchmarks (``bench``, ``bench_http``, ``bench_serving``).

Also imported by the child process that ``bench_serving`` starts for each synthetic index.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from assistant.eval.metrics import percentile


def stats(values: Sequence[float]) -> dict[str, float]:
    return {"n": len(values), "p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3),
            "p99": round(percentile(values, 99), 3), "mean": round(statistics.fmean(values), 3) if values else 0.0}



RSS_FIELDS = {"VmRSS": "rss_mb", "VmHWM": "peak_rss_mb", "RssAnon": "anon_mb", "RssFile": "file_mb"}



def rss_mb(pid: int | None = None) -> dict[str, float]:
    """Resident memory (MB) of a process from /proc: current, peak (VmHWM; ``ru_maxrss`` would
    carry a parent's peak into a child), and the private (anon) and file-backed parts."""
    path = Path(f"/proc/{pid or os.getpid()}/status")
    out = {}
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(":")
            if name in RSS_FIELDS:
                out[RSS_FIELDS[name]] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return out



def warm_latency(assistant, questions: Sequence[str]) -> dict[str, object]:
    """Per-question latency in the library, in total and per stage."""
    assistant.ask(questions[0])
    totals, stages = [], {}
    for question in questions:
        started = time.perf_counter()
        answer = assistant.ask(question)
        totals.append((time.perf_counter() - started) * 1000)
        for name, value in answer.timings_ms.items():
            stages.setdefault(name, []).append(value)
    return {"total_ms": stats(totals), "stages_ms": {k: stats(v) for k, v in stages.items()}}



def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
