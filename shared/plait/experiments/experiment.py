"""``Experiment``: a dataset with a title, a description, case-insensitive tags and an EID.

Decisions where the reference is silent:

- ``title``, ``description``, ``tags`` and ``updated_at`` are what the experiment held when this
  object last read or changed it (``refresh()`` reads it again); every change is a read-modify-write
  of the stored experiment, so a change made elsewhere in between is kept, not overwritten, and the
  object then shows the stored state. An experiment from ``find_experiments`` reads its description
  on first use (the search index does not hold descriptions).
- Changing the title, description or tags bumps ``updated_at``; uploading or removing files does
  not (each file has its own modification time, in ``files``).
- Tags are compared case-insensitively and keep the spelling first given. ``add_tags`` of tags the
  experiment has already is a no-op (``updated_at`` is not bumped); ``remove_tag`` of a tag it does
  not have raises ``ExperimentTagNotFound``. At most 64 tags may be added at once.
- ``upload_file(file, name=None, progress=None)``: ``name`` (a plait addition) stores the file under
  another name; a file of that name is replaced. ``progress`` is a callable given byte counts,
  ``True`` for a progress bar on stderr, ``False`` for none; by default a bar is shown when stderr is
  a terminal. ``download_file`` takes the same ``progress`` and returns the downloaded file's path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from plait.exceptions import ExperimentFileNotFound, ExperimentTagNotFound
from plait.experiments import rules
from plait.experiments.store import format_moment, require_local_file

if TYPE_CHECKING:
    from plait.experiments.api import API
    from plait.resources.dataset import Dataset


class Experiment:
    """An experiment (made by ``API``; not constructed directly)."""

    def __init__(self, api: API, record: dict[str, Any]) -> None:
        self._api = api
        self._apply(record)

    def _apply(self, record: dict[str, Any]) -> None:
        #: UUID of the experiment: its internal identifier (its dataset's id).
        self.uuid: uuid.UUID = uuid.UUID(record["uuid"])
        #: EID of the experiment: ``YYYYMMDD-N``, unique within one location, never reused.
        self.eid: str = record["eid"]
        #: Creation datetime of the experiment (aware, UTC).
        self.created_at: dt.datetime = dt.datetime.fromisoformat(record["created_at"])
        self._title: str = record["title"]
        self._description: str | None = record.get("description")  # None: not read yet
        self._tags: list[str] = list(record["tags"])
        self._updated_at = dt.datetime.fromisoformat(record["updated_at"])

    @property
    def _store(self) -> Any:
        return self._api._store

    # -- metadata --

    @property
    def title(self) -> str:
        """Title of the experiment (at most 256 characters)."""
        return self._title

    @title.setter
    def title(self, value: str) -> None:
        title = rules.check_title(value)
        self._change(lambda record: _set(record, "title", title))

    @property
    def description(self) -> str:
        """Description of the experiment (at most 5000 characters)."""
        if self._description is None:
            self.refresh()
        return self._description

    @description.setter
    def description(self, value: str) -> None:
        description = rules.check_description(value)
        self._change(lambda record: _set(record, "description", description))

    @property
    def updated_at(self) -> dt.datetime:
        """When the title, description or tags last changed (aware, UTC)."""
        return self._updated_at

    @property
    def tags(self) -> list[str]:
        """The experiment's tags, as first spelt, in the order they were added."""
        return list(self._tags)

    def add_tags(self, tags: list[str]) -> None:
        """Add tags; tags it has already (in any case) are left as they are.

        :raise plait.exceptions.InvalidExperimentTag: if a tag breaks the rules (then none is added)
        :raise plait.exceptions.DuplicateExperimentTags: if a tag is given twice
        :raise plait.exceptions.TooManyExperimentTags: if more than 64 are given
        """
        new = rules.check_new_tags(tags)

        def change(record: dict[str, Any]) -> bool:
            existing = {rules.tag_key(tag) for tag in record["tags"]}
            additions = [tag for tag in new if rules.tag_key(tag) not in existing]
            if not additions:
                return False
            record["tags"].extend(additions)
            return _touch(record)

        self._change(change)

    def remove_tag(self, tag: str) -> None:
        """Remove a tag (matched case-insensitively).

        :raise plait.exceptions.ExperimentTagNotFound: if the experiment does not have it
        """
        key = rules.tag_key(rules.check_tag(tag))

        def change(record: dict[str, Any]) -> bool:
            kept = [existing for existing in record["tags"] if rules.tag_key(existing) != key]
            if len(kept) == len(record["tags"]):
                raise ExperimentTagNotFound(
                    f"Experiment {record['eid']} has no tag {tag!r}, so it cannot be removed. Its tags are: "
                    f"{', '.join(record['tags']) or 'none'}."
                )
            record["tags"] = kept
            return _touch(record)

        self._change(change)

    def refresh(self) -> Experiment:
        """Read the experiment again from storage.

        :raise plait.exceptions.ExperimentNotFound: if it was removed
        """
        from plait.exceptions import ExperimentNotFound

        record = self._store.read_experiment(str(self.uuid))
        if record is None:
            raise ExperimentNotFound(f"Experiment {self.eid} ({self.uuid}) was removed.")
        self._apply(record)
        return self

    def _change(self, change: Callable[[dict[str, Any]], bool]) -> None:
        self._apply(self._store.update_experiment(str(self.uuid), change))

    # -- files --

    @property
    def path(self) -> str:
        """Where the experiment's dataset is: a local directory or a ``gs://`` path."""
        return self._store.experiment_path(str(self.uuid))

    @property
    def dataset(self) -> Dataset:
        """The experiment as a plait ``Dataset`` (its files, with their hashes, tags and labels)."""
        from plait.resources.dataset import Dataset

        return Dataset(path=self.path)

    @property
    def files(self) -> list[tuple[str, dt.datetime]]:
        """The experiment's files: ``(name, last modified)`` pairs, sorted by name."""
        return [(file.name, file.modified) for file in self._store.list_files(str(self.uuid))]

    def upload_file(self, file: str, name: str | None = None, progress: Any = None) -> None:
        """Upload a local file to the experiment (replacing any file of the same name).

        :param file: the local file's path
        :param name: the name to give it in the experiment (default: the file's own name)
        :param progress: a callable given byte counts, True (a progress bar), False, or None (a bar
            if stderr is a terminal)
        :raise plait.exceptions.FileNotFoundException: if ``file`` is not an existing file
        :raise plait.exceptions.InvalidExperimentFileName: if ``name`` is not a plain file name
        """
        local_path = require_local_file(file)
        name = rules.check_file_name(os.path.basename(local_path) if name is None else name)
        with progress_reporter(progress, f"Uploading {name}", os.path.getsize(local_path)) as report:
            self._store.upload_file(str(self.uuid), local_path, name, report)

    def download_file(self, file_name: str, destination_dir: str = ".", progress: Any = None) -> str:
        """Download one of the experiment's files into ``destination_dir`` (created if needed).

        :return: the downloaded file's path
        :raise plait.exceptions.ExperimentFileNotFound: if the experiment has no such file
        """
        name = rules.check_file_name(file_name)
        target = os.path.join(os.path.abspath(os.path.expanduser(destination_dir)), name)
        size = self._store.file_size(str(self.uuid), name)
        if size is None:
            self._missing(lambda: self._store.download_file(str(self.uuid), name, target, None))
        with progress_reporter(progress, f"Downloading {name}", size) as report:
            self._missing(lambda: self._store.download_file(str(self.uuid), name, target, report))
        return target

    def remove_files(self, files: list[str]) -> None:
        """Remove files from the experiment: all of them, or none if any is missing.

        :raise plait.exceptions.ExperimentFileNotFound: naming every file the experiment does not have
        """
        names = [rules.check_file_name(name) for name in ([files] if isinstance(files, str) else files)]
        self._missing(lambda: self._store.delete_files(str(self.uuid), list(dict.fromkeys(names))))

    def _missing(self, operation: Callable[[], None]) -> None:
        """Run a file operation, naming this experiment in a missing-file error."""
        try:
            operation()
        except ExperimentFileNotFound as error:
            raise ExperimentFileNotFound(f"Experiment {self.eid}: {error}", missing=error.missing) from None

    # -- comparisons --

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and other.uuid == self.uuid

    def __hash__(self) -> int:
        return hash(self.uuid)

    def __repr__(self) -> str:
        return f"<Experiment({self.eid!r}, {self._title!r})>"


def _now() -> str:
    return format_moment(dt.datetime.now(dt.UTC))


def _touch(record: dict[str, Any]) -> bool:
    record["updated_at"] = max(_now(), _next_microsecond(record["updated_at"]))
    return True


def _next_microsecond(moment: str) -> str:
    # updated_at must move forward even if two changes fall in the same microsecond.
    return format_moment(dt.datetime.fromisoformat(moment) + dt.timedelta(microseconds=1))


def _set(record: dict[str, Any], key: str, value: str) -> bool:
    record[key] = value
    return _touch(record)


@contextlib.contextmanager
def progress_reporter(progress: Any, description: str, total: int | None) -> Iterator[Callable[[int], None] | None]:
    """The callable to report transferred bytes to: the caller's, a rich progress bar on stderr, or none."""
    if callable(progress):
        yield progress
        return
    show = progress if isinstance(progress, bool) else sys.stderr.isatty()
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.advance(task, done)
