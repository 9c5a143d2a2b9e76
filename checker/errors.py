"""The command line's one error: input it refuses (exit 2, one line on stderr).
Below the application layer so that every module may raise it."""


class UsageError(Exception):
    pass
