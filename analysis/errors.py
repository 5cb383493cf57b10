"""Errors users see, and the exit codes the command line maps them to.

Every error a user can cause is an :class:`AnalysisError` whose message is a
single readable line naming the file, row and field where it can; the
command line prints that line (never a traceback) and exits with the code of
the error's class:

====  ==================================================================
code  meaning
====  ==================================================================
0     success (quality flags may exist; they are information)
1     finished, but some rows were rejected or some report jobs failed
2     usage error: bad command-line argument, schedule or parameter
3     input error: a file is missing, unreadable or malformed; nothing written
4     busy: another build holds the lock on the processed data
130   interrupted (Ctrl-C, SIGINT or SIGTERM); previous outputs are intact
====  ==================================================================

Examples:
    >>> err = InputError("missing column 'value'", file="observations.csv", row=1)
    >>> str(err)
    "observations.csv:1: missing column 'value'"
    >>> err.exit_code
    3
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_BUSY = 4
EXIT_INTERRUPTED = 130


class AnalysisError(Exception):
    """Base class: a problem the user can fix, with a one-line message.

    Args:
        message: What is wrong, in plain words.
        file: The file involved, if any.
        row: The 1-based line number in that file (header is line 1).
        field: The column or parameter involved.
    """

    exit_code = EXIT_INPUT

    def __init__(self, message: str, *, file=None, row=None, field=None):
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.row) if p is not None)
        what = f"{self.field}: {self.message}" if self.field else self.message
        return f"{where}: {what}" if where else what


class InputError(AnalysisError):
    """A raw table or input file cannot be read or has the wrong shape."""

    exit_code = EXIT_INPUT


class UsageError(AnalysisError):
    """A command-line argument, schedule or notebook parameter is wrong."""

    exit_code = EXIT_USAGE


class UnknownUnitError(UsageError):
    """A place name resolves to no administrative unit.

    Args:
        name: The name as given.
        candidates: The closest known names, best first.
    """

    def __init__(self, name: str, candidates=(), **where):
        self.name = name
        self.candidates = list(candidates)
        hint = f"; closest: {', '.join(self.candidates)}" if self.candidates else ""
        super().__init__(f"unknown unit {name!r}{hint}", **where)


class BusyError(AnalysisError):
    """Another process holds the lock on the output folder."""

    exit_code = EXIT_BUSY
