"""Log formatting and handlers for services and the analyses they run.

``apply_log_handler`` is the reference's function: attach a handler (by default a stream handler
with plait's format) to a logger (by default the root logger).

Analyses capture their own logs with ``AnalysisLogCapture``: every record made while an analysis
runs (in the thread running it, or in any thread that copies its ``contextvars`` context) is
tagged with the analysis id, so several analyses in one process never see each other's logs.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Iterator
from typing import Any

#: The format of plait's log lines (``include_*`` options add process, thread and line context).
LOG_FORMAT = "[%(asctime)s | %(levelname)s | %(name)s] %(message)s"

#: The id of the analysis running in the current context (None outside analyses).
current_analysis_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("plait_analysis_id", default=None)

_record_factory_installed = False

# The log levels of the analyses capturing logs right now, and the root logger's level before the
# first of them began: the root logger's level is the lowest of these while any analysis runs.
_active_levels: list[int] = []
_root_level_before: int | None = None
_levels_lock = threading.Lock()


def create_plait_formatter(
    include_line_number: bool = False, include_process_name: bool = False, include_thread_name: bool = False
) -> logging.Formatter:
    """plait's log formatter, optionally with line number, process name and thread name."""
    context = []
    if include_process_name:
        context.append("%(processName)s")
    if include_thread_name:
        context.append("%(threadName)s")
    context.append("%(name)s")
    if include_line_number:
        context[-1] = "%(name)s:%(lineno)d"
    return logging.Formatter("[%(asctime)s | %(levelname)s | " + " | ".join(context) + "] %(message)s")


def apply_log_handler(
    logger_name: str | None = None,
    logger: logging.Logger | None = None,
    handler: logging.Handler | None = None,
    log_level: int | str = logging.INFO,
    formatter: logging.Formatter | None = None,
    include_line_number: bool = False,
    include_process_name: bool = False,
    include_thread_name: bool = False,
) -> logging.Handler:
    """Attach a handler with plait's formatter to a logger (the root logger by default).

    :param logger_name: the name of the logger to use if ``logger`` is None (root if both are None)
    :param logger: the logger to use (takes precedence over ``logger_name``)
    :param handler: the handler to attach (a ``StreamHandler`` to stderr if None)
    :param log_level: ignore records below this level (the logger's level is lowered to it if needed)
    :param formatter: the formatter to use; if given, the ``include_*`` options are ignored
    :return: the attached handler
    """
    logger = logger or logging.getLogger(logger_name)
    handler = handler or logging.StreamHandler()
    handler.setFormatter(
        formatter
        or create_plait_formatter(
            include_line_number=include_line_number,
            include_process_name=include_process_name,
            include_thread_name=include_thread_name,
        )
    )
    level = log_level_number(log_level)
    handler.setLevel(level)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    logger.addHandler(handler)
    return handler


def log_level_number(log_level: int | str) -> int:
    """A log level as a number: ``logging.INFO``, ``20``, ``"INFO"`` and ``"info"`` are all 20.

    :raise plait.exceptions.InvalidInputException: if ``log_level`` is not a log level
    """
    level = logging.getLevelName(log_level.upper()) if isinstance(log_level, str) else log_level
    if isinstance(level, bool) or not isinstance(level, int):
        from plait.exceptions import InvalidInputException

        raise InvalidInputException(f"{log_level!r} is not a log level: use e.g. 'INFO', 'DEBUG' or logging.INFO.")
    return level


def _install_record_factory() -> None:
    """Tag every log record with the id of the analysis running in its context."""
    global _record_factory_installed
    if _record_factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.plait_analysis_id = current_analysis_id.get()
        return record

    logging.setLogRecordFactory(factory)
    _record_factory_installed = True


class _AnalysisFilter(logging.Filter):
    def __init__(self, analysis_id: str) -> None:
        super().__init__()
        self.analysis_id = analysis_id

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "plait_analysis_id", None) == self.analysis_id


class _RecordList(logging.Handler):
    """Keeps the records it is given (for crash diagnostics)."""

    def __init__(self, limit: int = 10_000) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []
        self.limit = limit

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < self.limit:
            self.records.append(serialise_log_record(record))


class _ForwardTo(logging.Handler):
    """Passes the records it is given on to another handler (which keeps its own level and filters).

    Each analysis forwards to the handler it was given through one of these, so the given handler is
    never changed and may be shared by analyses running at the same time.
    """

    def __init__(self, target: logging.Handler) -> None:
        super().__init__()
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= self.target.level:
            self.target.handle(record)


def serialise_log_record(record: logging.LogRecord) -> dict[str, Any]:
    """A log record as JSON-compatible primitives (message formatted, exception text included)."""
    primitive = {
        "name": record.name,
        "levelno": record.levelno,
        "levelname": record.levelname,
        "msg": record.getMessage(),
        "created": record.created,
        "pathname": record.pathname,
        "lineno": record.lineno,
        "funcName": record.funcName,
        "threadName": record.threadName,
        "processName": record.processName,
    }
    if record.exc_info:
        primitive["exc_text"] = logging.Formatter().formatException(record.exc_info)
    elif record.exc_text:
        primitive["exc_text"] = record.exc_text
    return primitive


@contextlib.contextmanager
def capture_analysis_logs(
    analysis_id: str, log_level: int | str = logging.INFO, handler: logging.Handler | None = None
) -> Iterator[list[dict[str, Any]]]:
    """While the block runs, send this analysis's log records (at ``log_level`` and above) to
    ``handler`` as well as to the root logger's handlers, and collect them; yields the list.

    Only records made in the context that entered the block (or contexts copied from it) are
    taken, so concurrent analyses in one process keep their logs apart. ``log_level`` may be a
    number or a name (``"DEBUG"``).
    """
    log_level = log_level_number(log_level)
    _install_record_factory()
    token = current_analysis_id.set(analysis_id)
    analysis_filter = _AnalysisFilter(analysis_id)
    collector = _RecordList()
    collector.setLevel(log_level)
    collector.addFilter(analysis_filter)
    handlers: list[logging.Handler] = [collector]
    if handler is not None:
        forward = _ForwardTo(handler)
        forward.setLevel(log_level)
        forward.addFilter(analysis_filter)
        handlers.append(forward)

    root = logging.getLogger()
    _lower_root_level(root, log_level)
    for each in handlers:
        root.addHandler(each)
    try:
        yield collector.records
    finally:
        for each in handlers:
            root.removeHandler(each)
        _restore_root_level(root, log_level)
        current_analysis_id.reset(token)


def _lower_root_level(root: logging.Logger, level: int) -> None:
    global _root_level_before
    with _levels_lock:
        if not _active_levels:
            _root_level_before = root.level
        _active_levels.append(level)
        root.setLevel(min(min(_active_levels), _root_level_before or logging.WARNING))


def _restore_root_level(root: logging.Logger, level: int) -> None:
    with _levels_lock:
        _active_levels.remove(level)
        if _active_levels:
            root.setLevel(min(min(_active_levels), _root_level_before or logging.WARNING))
        else:
            root.setLevel(_root_level_before if _root_level_before is not None else logging.WARNING)
