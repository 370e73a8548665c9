"""Terminal output shared by the commands: the console, tables, sizes, progress bars."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn


def _width(stream: object) -> int | None:
    """Use the terminal's width; when output is not a terminal (a log, a pipe), allow wide tables."""
    if hasattr(stream, "isatty") and stream.isatty():
        return None
    return int(os.environ.get("COLUMNS", "160"))


console = Console(highlight=False, width=_width(sys.stdout))
error_console = Console(stderr=True, highlight=False, width=_width(sys.stderr))


def format_tags(tags: dict) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(tags.items()))


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@contextlib.contextmanager
def byte_progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar over bytes (on stderr); yields the callable to report bytes done with."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=error_console,
        transient=True,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda done: progress.advance(task, done)


class EventPrinter(logging.Handler):
    """Prints what a parent receives while it waits: the child's forwarded log records and the
    answer handler's notes (delivery acknowledgement, heartbeats). Attach it to the root logger
    with the ``plait.cloud.events.answers`` logger at DEBUG."""

    def __init__(self, to: Console | None = None) -> None:
        super().__init__()
        self.to = to or error_console

    def emit(self, record: logging.LogRecord) -> None:
        from rich.markup import escape

        message = record.getMessage()
        if record.name.startswith("plait.cloud.events.answers"):
            self.to.print(f"   [cyan]event[/cyan]   {escape(message)}")
        elif message.startswith("["):
            self.to.print(f"   [green]log[/green]     {escape(message)}")
