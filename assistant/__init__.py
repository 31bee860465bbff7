"""Cited extractive answers over a document collection."""

__version__ = "0.1.0"
