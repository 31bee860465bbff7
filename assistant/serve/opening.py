"""Opening the assistant for a command: progress bars while embedding, and an index made fresh for its corpus."""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.settings import Settings


def progress_printer():
    """A progress callback that draws one tqdm bar per label on stderr."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(label: str, done: int, total: int) -> None:
        bar = bars.get(label)
        if bar is None:
            bar = bars[label] = tqdm(total=total, desc=f"embedding {label}", unit="text", file=sys.stderr,
                                     leave=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress


def open_assistant(settings: Settings, explicit_corpus: bool, rebuild: bool = True, serve_meanwhile: bool = False):
    """An Assistant whose index is fresh for its corpus: the one given with --corpus, else the
    one the index was built from, else the default corpus when there is no index yet (or its
    manifest is damaged). Without ``rebuild`` a damaged index is refused, a stale one kept; with
    ``serve_meanwhile`` (``serve``) a damaged one is replaced by its previous version while it is rebuilt."""
    from assistant.errors import IndexError_
    from assistant.index.manifest import read_manifest
    from assistant.service import Assistant

    assistant = Assistant(settings)
    corpus: Path | None = settings.corpus if explicit_corpus else None
    if corpus is None:
        try:
            manifest = read_manifest(settings.index)
        except IndexError_:  # ensure_index reports the damage, then rebuilds or refuses
            manifest = None
        if manifest is None:
            corpus = settings.corpus
        elif manifest.corpus and Path(manifest.corpus).exists():
            corpus = Path(manifest.corpus)
            # uploads and removals must go to the folder this index was built from
            assistant.settings = settings.model_copy(update={"corpus": corpus})
    if corpus is not None:
        built = assistant.ensure_index(corpus, progress=progress_printer(), rebuild=rebuild,
                                       serve_meanwhile=serve_meanwhile)
        if built is not None:
            print(f"index updated in {built.seconds:.1f}s", file=sys.stderr)
        for warning in assistant.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return assistant
