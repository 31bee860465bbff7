"""Serve: the command line, the Gradio UI and the plain JSON HTTP API, all over ``assistant.service.Assistant``.

Stage 6 of the pipeline (serve). Only the CLI entry point and the text formatters are imported
here; ``ui.build_app`` (Gradio) and ``http_api.plain_routes`` (Starlette) are imported from their
modules when a server starts, since Gradio takes seconds to import.
"""

from assistant.serve.cli import main
from assistant.serve.formatting import format_answer_text, format_check_report

__all__ = ["format_answer_text", "format_check_report", "main"]
