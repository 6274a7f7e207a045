"""The command line: ``main`` parses and dispatches to one module per command group."""

from .main import main

__all__ = ["main"]
