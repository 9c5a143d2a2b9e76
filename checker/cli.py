"""The command line: `python -m checker [check|list|view|gate|bench|replay|
record|prove|conform] ...`. The application layer is checker/app/; this is
its front door, kept where `python -m checker` and the tests find it."""

from checker.app.main import build_parser, main

__all__ = ["build_parser", "main"]
