"""The library API used by the CLI and the UI: keep an index fresh and answer questions."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path

from assistant.answer import multipart
from assistant.answer.abstention import abstain_threshold
from assistant.answer.answering import AnswerOptions, answer_question, validate_question
from assistant.answer.judge import JUDGE_FILE, Judge, load_judge
from assistant.check.conflicts import find_conflicts
from assistant.errors import AssistantError, IndexError_, UserInputError
from assistant.index.backends import attach_backend, check_backend
from assistant.index.build import BuildResult, Progress, build_index
from assistant.index.child_embedder import ChildProcessEmbedder
from assistant.index.embedding import Embedder, SentenceTransformerEmbedder, make_embedder, make_query_embedder
from assistant.index.manifest import diff_documents, previous_version, read_manifest, settings_mismatch
from assistant.index.store import LoadedIndex, load_index
from assistant.index.worker_embedding import ProcessPoolEmbedder
from assistant.ingest.reading import read_corpus
from assistant.models import Answer, CheckReport, FusionMethod, RetrievalMode
from assistant.settings import Settings

log = logging.getLogger(__name__)


class Assistant:
    """Holds one loaded index and one embedder; answers questions against them."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.model, threads=settings.query_threads,
                                                  precision=settings.precision, device=settings.device)
        self.query_embedder = make_query_embedder(settings.model, self.embedder, settings.query_encoder,
                                                  settings.encoder_cache, threads=settings.query_threads)
        self._index: LoadedIndex | None = None
        self._checker = None
        self._judge: Judge | None = None
        self._lock = threading.RLock()  # guards the loaded index; held only briefly
        self._write_lock = threading.RLock()  # one build, upload or removal at a time
        self.warnings: list[str] = []
        self.rebuilding: threading.Thread | None = None  # a background rebuild of a damaged index (ensure_index)
        self.embed_in_child = False  # `serve` sets it: builds embed in a child process (see _batch_embedder)

    @property
    def index(self) -> LoadedIndex:
        """The loaded index (loaded on first use); IndexError_ when there is none."""
        with self._lock:
            if self._index is None:
                loaded = load_index(self.settings.index)
                if loaded is None:
                    raise IndexError_(f"no index in {self.settings.index}; build it with `assistant index`")
                problem = settings_mismatch(loaded.manifest, self.embedder.name, self.settings.chunking,
                                            self.query_embedder.dimension)
                if problem:
                    raise IndexError_(f"index in {self.settings.index} was built with other settings: {problem}; "
                                      "rebuild with `assistant index`")
                self._index = attach_backend(loaded, self.settings)
            return self._index

    def build(self, corpus: Path | None = None, progress: Progress | None = None,
              first_warnings: Sequence[str] = ()) -> BuildResult:
        """(Re)build the index from a corpus folder or JSONL file; unchanged texts are not re-embedded.
        ``warnings`` becomes ``first_warnings`` (what must stay said while it builds) and the corpus's."""
        corpus = corpus or self.settings.corpus
        with self._write_lock:  # questions keep being answered from the old index meanwhile
            check_backend(self.settings)  # an unreachable search engine: fail before the index is touched
            result = read_corpus(corpus)
            self.warnings = [*first_warnings, *result.warnings]
            for warning in result.warnings:
                log.warning(warning)
            built = build_index(result.documents, self.settings.index, self._batch_embedder(), self.settings.chunking,
                                corpus_label=str(corpus.resolve()), batch_size=self.settings.batch_size,
                                progress=progress, dense_index=self.settings.dense_index)
            fresh = attach_backend(load_index(self.settings.index), self.settings, create=True)
            with self._lock:
                self._index = fresh
                self._checker = None  # it holds the old index; the next check makes a new one
        return built

    def _batch_embedder(self) -> Embedder:
        """The embedder for a build: worker processes or Ray actors when the settings ask for them (``workers``,
        ``ray_address``); else, with ``embed_in_child`` (a server), a child process runs the model unless it is
        already loaded here, so that an upload leaves no torch behind."""
        workers, ray_address = self.settings.workers, self.settings.ray_address
        if ray_address or (workers or 1) > 1:
            loaded = getattr(self.embedder, "loaded", True)  # else the ONNX encoder of the same model knows it
            dimension = self.embedder.dimension if loaded else self.query_embedder.dimension
            if ray_address:
                from assistant.index.ray_embedding import RayEmbedder

                return RayEmbedder(self.embedder, dimension, ray_address, workers)
            return ProcessPoolEmbedder(self.embedder, dimension, workers or 1)
        if not (self.embed_in_child and isinstance(self.embedder, SentenceTransformerEmbedder)):
            return self.embedder
        dimension = self.query_embedder.dimension  # the ONNX encoder of the same model (or the model)
        if self.embedder.loaded:
            return self.embedder
        return ChildProcessEmbedder(self.embedder.name, *self.embedder.spec, dimension=dimension)

    def stale_reason(self, corpus: Path | None = None) -> str | None:
        """Why the index must be (re)built for the corpus, or None when it is up to date."""
        corpus = corpus or self.settings.corpus
        try:
            manifest = read_manifest(self.settings.index)
        except IndexError_ as exc:
            return str(exc)
        if manifest is None:
            return f"no index in {self.settings.index}"
        problem = settings_mismatch(manifest, self.embedder.name, self.settings.chunking)
        if problem:
            return problem
        documents = read_corpus(corpus).documents
        changed, added, removed = diff_documents(manifest, documents)
        if changed or added or removed:
            return f"corpus changed: {len(changed)} changed, {len(added)} added, {len(removed)} removed"
        return None

    def ensure_index(self, corpus: Path | None = None, progress: Progress | None = None,
                     rebuild: bool = True, serve_meanwhile: bool = False) -> BuildResult | None:
        """Build the index when it is missing, stale or built with other settings.

        A damaged index (a manifest or file failing its check) is reported by name in ``warnings``
        before the rebuild; with ``rebuild=False`` it raises IndexError_ instead, and a stale index
        is used as it is (with a warning). With ``serve_meanwhile`` (the server), a damaged index whose
        previous version still passes every check is replaced by that version at once and rebuilt in a
        background thread (``rebuilding``), so questions are answered meanwhile."""
        corpus = corpus or self.settings.corpus
        if not corpus.exists():
            if read_manifest(self.settings.index) is None:
                raise UserInputError(f"corpus folder not found: {corpus}")
            return None
        damage = None
        try:
            read_manifest(self.settings.index)  # a damaged manifest raises here, naming the key
            reason = self.stale_reason(corpus)
            if reason is None:
                self.index  # up to date by its manifest; verify its files too
                return None
        except IndexError_ as exc:
            reason = damage = str(exc).removesuffix("; rebuild with `assistant index`")
        if not rebuild:
            if damage is not None or read_manifest(self.settings.index) is None:
                raise IndexError_(f"{damage or reason}; not rebuilt (--no-rebuild): rebuild with `assistant index`")
            self.warnings = [f"the index is stale ({reason}); not rebuilt (--no-rebuild)"]
            return None
        if damage is not None and serve_meanwhile and self._serve_previous(damage, corpus):
            return None
        log.info("rebuilding index: %s", reason)
        built = self.build(corpus, progress)
        if damage is not None:
            self.warnings.insert(0, f"{damage}; rebuilt it from {corpus}")
        return built

    def _serve_previous(self, damage: str, corpus: Path) -> bool:
        """Load the previous index version, when it passes every check, and rebuild in the background."""
        previous = previous_version(self.settings.index)
        if previous is None:
            return False
        try:
            loaded = load_index(self.settings.index, version=previous)
        except IndexError_:
            return False
        if loaded is None or settings_mismatch(loaded.manifest, self.embedder.name, self.settings.chunking,
                                               self.query_embedder.dimension):
            return False
        try:  # a search engine elsewhere may no longer hold the previous version's collection
            attached = attach_backend(loaded, self.settings)
        except AssistantError:
            return False
        with self._lock:
            self._index = attached
        serving = f"{damage}; serving the previous version ({previous.name}) while it is rebuilt from {corpus}"
        self.warnings = [serving]

        def rebuild() -> None:
            try:
                self.build(corpus, first_warnings=[serving])  # said until the rebuilt index answers
                self.warnings = [f"{damage}; rebuilt it from {corpus}", *self.warnings[1:]]
            except Exception as exc:  # the previous version keeps serving; say why in the log
                log.error("rebuilding the damaged index failed: %s", exc)

        self.rebuilding = threading.Thread(target=rebuild, name="index-rebuild", daemon=True)
        self.rebuilding.start()
        return True

    def add_document(self, name: str, data: bytes, progress: Progress | None = None) -> str:
        """Validate an upload, store it in the corpus folder and update the index in place.

        Returns the new document id. On any failure the corpus and index are as before. A
        document replaced by an upload of the same name keeps its previous version in the trash.
        """
        from assistant.ingest.corpus_admin import copy_to_trash, prepare_upload, write_document

        corpus = self.settings.corpus
        if corpus.is_file():
            raise UserInputError(f"the corpus is the file {corpus}; documents can only be added to a corpus folder")
        file_name, payload = prepare_upload(name, data)
        with self._write_lock:
            target = corpus / file_name
            previous = target.read_bytes() if target.exists() else None
            write_document(corpus, file_name, payload)
            try:
                self.build(corpus, progress)
            except Exception:
                if previous is None:
                    target.unlink(missing_ok=True)
                else:
                    write_document(corpus, file_name, previous)
                raise
            entry = self.index.manifest.documents.get(file_name)
            if entry is None or entry.chunks == 0:  # skipped, or nothing answerable (markup only)
                reason = next((w for w in self.warnings if w.startswith(file_name)), "it has no readable text")
                if previous is None:
                    target.unlink(missing_ok=True)
                else:
                    write_document(corpus, file_name, previous)
                self.build(corpus, progress)
                raise UserInputError(f"{file_name} was not added: {reason}")
            if previous is not None and previous != payload:
                copy_to_trash(corpus, file_name, previous)
        return file_name

    def remove_document(self, doc_id: str) -> str:
        """Move a document to the corpus's trash folder (``.trash/``) and drop it from the index.

        Returns the trash entry that ``restore_document`` takes to undo it. On any failure the
        corpus and index are as before."""
        from assistant.ingest.corpus_admin import document_path, move_to_trash, restore_from_trash

        corpus = self.settings.corpus
        with self._write_lock:
            document_path(corpus, doc_id)  # one message for ids outside the corpus
            if doc_id not in self.index.manifest.documents:
                raise UserInputError(f"unknown document {doc_id!r}")
            entry = move_to_trash(corpus, doc_id)
            try:
                self.build(corpus)
            except Exception:
                restore_from_trash(corpus, entry)
                raise
        return entry

    def restore_document(self, entry: str) -> str:
        """Undo a removal: move the trash entry back into the corpus and index it again.

        Returns the document id. UserInputError when the entry is gone or its name is taken."""
        from assistant.ingest.corpus_admin import move_to_trash, restore_from_trash

        corpus = self.settings.corpus
        with self._write_lock:
            doc_id = restore_from_trash(corpus, entry)
            try:
                self.build(corpus)
            except Exception:
                move_to_trash(corpus, doc_id, entry)
                raise
        return doc_id

    @property
    def judge(self) -> Judge | None:
        """The fitted judge (loaded once), or None when ``ASSISTANT_JUDGE=rules``. A missing, damaged or
        mismatched judge file raises AssistantError naming it: never a silent fall-back."""
        if self.settings.judge == "rules":
            return None
        if self._judge is None:
            self._judge = load_judge(self.settings.judge_file or JUDGE_FILE, self.settings.model)
        return self._judge

    @property
    def abstain_threshold(self) -> float:
        """The confidence below which answers abstain: the setting when given, else the judge's own
        threshold (chosen by cross-validation), else 0.5 for the rule scores."""
        setting = self.settings.abstain_threshold
        return abstain_threshold(setting, self.judge if setting is None else None)

    def check(self, text: str) -> CheckReport:
        """Check a text that cites the collection, claim by claim (see ``checking``)."""
        from assistant.check.checking import CitationChecker

        index = self.index
        with self._lock:
            if self._checker is None or self._checker.index is not index:
                self._checker = CitationChecker(index, self.embedder, self.judge)
            checker = self._checker
        return checker.check(text)

    def ask(self, question: str, *, k: int | None = None, max_sentences: int | None = None,
            mode: RetrievalMode | None = None, doc_filter: Collection[str] | None = None,
            abstain: bool = True, fusion_weights: tuple[float, float] | None = None,
            fusion: FusionMethod | None = None) -> Answer:
        """Answer one question with cited sentences or an abstention."""
        options = AnswerOptions.from_settings(self.settings, k=k or None, max_sentences=max_sentences or None,
                                              mode=mode or None, fusion_weights=fusion_weights or None,
                                              fusion=fusion, abstain=abstain)
        question = validate_question(question, options.max_question_chars)
        parts = multipart.split_question(question)
        if len(parts) < 2:
            return answer_question(self.index, self.query_embedder, question, options, doc_filter, self.judge,
                                   find_conflicts)
        # A question with two parts or two named subjects: answer each part on its own, then merge.
        per_part = replace(options, max_sentences=max(1, options.max_sentences // len(parts)))
        answers = [answer_question(self.index, self.query_embedder, part, per_part, doc_filter, self.judge,
                                   find_conflicts)
                   for part in parts]
        return multipart.merge_answers(question, parts, answers)
