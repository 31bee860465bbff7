"""Ingest: read files into ``Document``s, label their blocks, split them into ``Sentence``s and ``Chunk``s.

Stage 1 of the pipeline (read → clean → split); ``lines`` holds the line and block spans. Also here, not imported by this ``__init__``
because they run in a PDF child process or write to the corpus: ``pdf_text.extract_pdf_text``
and ``corpus_admin.prepare_upload``, ``write_document``, ``document_path``.
"""

from assistant.ingest.cleaning import label_blocks, repeated_across_documents
from assistant.ingest.reading import (
           CorpusReadResult,
           decode_bytes,
           mask_html,
           read_corpus,
           read_file,
)
from assistant.ingest.splitting import chunk_sentences, sentence_spans, split_document

__all__ = ["CorpusReadResult", "chunk_sentences", "decode_bytes", "label_blocks", "mask_html", "read_corpus",
           "read_file", "repeated_across_documents", "sentence_spans", "split_document"]
