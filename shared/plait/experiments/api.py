"""``API``: the experiment-management client, over plait's own resources — no server.

``API(location=None, timeout=600)``:

- ``location`` is where experiments, extension registrations and task records are kept: a local
  directory, or a ``gs://bucket/prefix`` (through plait's storage module; the storage emulator
  when ``STORAGE_EMULATOR_HOST`` is set). By default, ``PLAIT_EXPERIMENTS_LOCATION``, else
  ``$XDG_DATA_HOME/plait/experiments`` (``~/.local/share/plait/experiments``): a directory on this
  machine that outlives any local stack (a local stack's storage emulator forgets everything when
  it stops). The layout and cost model are in ``plait.experiments.store``.
- ``timeout`` is how long, in seconds, executing an action waits for the service's answer (the
  reference's 0.5 s default was an HTTP request timeout to a server plait does not have; storage
  requests have their own, ``PLAIT_STORAGE_RETRY_DEADLINE``).

Decisions where the reference is silent:

- ``create_experiment(title, description, tags=None)``: ``tags`` (a plait addition) tags the new
  experiment, at most 64 of them.
- ``find_experiments``: ``search`` matches the title or the EID as a case-insensitive substring;
  ``tags`` matches experiments with any of them (case-insensitively); ``start_datetime`` and
  ``end_datetime`` bound ``created_at`` inclusively (naive datetimes are UTC); results come newest
  first. Experiments tagged ``__archived__`` are left out unless ``include_archived=True`` (a plait
  addition) or ``__archived__`` is one of the ``tags`` searched for.
- EIDs and UUIDs of removed experiments are never given again; looking one up raises
  ``ExperimentNotFound``.
- Extensions are registered services (``register_extension``); see ``plait.experiments.extensions``.
  Tasks are the questions executing their actions asks; see ``plait.experiments.tasks``.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import Any

from plait.exceptions import (
    ExperimentNotFound,
    ExtensionNotFound,
    InvalidIdentifierException,
    InvalidInputException,
)
from plait.experiments import rules
from plait.experiments.experiment import Experiment
from plait.experiments.extensions import Extension, check_extension_name, registration_from_service_directory
from plait.experiments.store import EXTENSIONS_DIRECTORY, format_moment, open_store
from plait.experiments.tasks import Task, cancel_task, list_tasks, read_task

#: The environment variable naming the default experiments location.
LOCATION_VARIABLE = "PLAIT_EXPERIMENTS_LOCATION"

#: Seconds executing an action waits for its answer, unless the API is given another timeout.
DEFAULT_TIMEOUT = 600.0


def default_location() -> str:
    """``PLAIT_EXPERIMENTS_LOCATION``, else ``$XDG_DATA_HOME/plait/experiments`` (``~/.local/share/...``)."""
    if os.environ.get(LOCATION_VARIABLE):
        return os.environ[LOCATION_VARIABLE]
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "plait", "experiments")


class API:
    """The experiment-management API: experiments, extensions and tasks at one location.

    :param location: a local directory or a ``gs://bucket/prefix`` (default: see ``default_location``)
    :param timeout: seconds executing an action waits for the service's answer
    """

    def __init__(self, location: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise InvalidInputException(f"timeout must be a positive number of seconds, not {timeout!r}.")
        self.timeout = float(timeout)
        self._store = open_store(location if location is not None else default_location())
        #: The location, normalised (an absolute directory, or ``gs://bucket/prefix``).
        self.location: str = self._store.location

    def __repr__(self) -> str:
        return f"<API({self.location!r})>"

    # -- experiments --

    def create_experiment(self, title: str, description: str, tags: list[str] | None = None) -> Experiment:
        """Create an experiment, with the next EID of the day (UTC).

        :raise plait.exceptions.InvalidExperimentTitle: if the title is longer than 256 characters
        :raise plait.exceptions.InvalidExperimentDescription: if the description is longer than 5000
        :raise plait.exceptions.InvalidExperimentTag: if a tag breaks the rules, is repeated, or there are more than 64
        """
        title = rules.check_title(title)
        description = rules.check_description(description)
        tags = rules.check_new_tags(tags)
        experiment_uuid = str(uuid.uuid4())
        now = dt.datetime.now(dt.UTC)
        eid = self._store.allocate_eid(experiment_uuid, now)
        record = {
            "uuid": experiment_uuid,
            "eid": eid,
            "title": title,
            "description": description,
            "tags": tags,
            "created_at": format_moment(now),
            "updated_at": format_moment(now),
            "revision": 1,
        }
        self._store.create_experiment(record)
        return Experiment(self, record)

    def find_experiments(
        self,
        search: str | None = None,
        limit: int = 10,
        offset: int = 0,
        tags: list[str] | None = None,
        start_datetime: dt.datetime | None = None,
        end_datetime: dt.datetime | None = None,
        *,
        include_archived: bool = False,
    ) -> list[Experiment]:
        """Experiments matching every criterion given, newest first (see the module docstring).

        :param search: text to find in the title or EID (case-insensitive; at most 64 characters)
        :param limit: how many experiments to return, 1 to 500
        :param offset: how many matching experiments to skip first
        :param tags: return experiments with any of these tags
        :param start_datetime: return experiments created at or after this moment
        :param end_datetime: return experiments created at or before this moment
        :param include_archived: include experiments tagged ``__archived__``
        :raise plait.exceptions.InvalidExperimentSearch: for a search too long, a limit outside 1-500,
            a negative offset, or a start after the end
        """
        search = rules.check_search(search)
        limit, offset = rules.check_limit_and_offset(limit, offset)
        wanted = {rules.tag_key(tag) for tag in rules.check_search_tags(tags)}
        start, end = rules.check_time_range(start_datetime, end_datetime, ("start_datetime", "end_datetime"))
        lower = format_moment(start) if start else None
        upper = format_moment(end) if end else None
        needle = search.casefold() if search else None
        archived = rules.tag_key(rules.ARCHIVED_TAG)
        show_archived = include_archived or archived in wanted

        matches = []
        for entry in self._store.index_entries():
            created = entry["created_at"]
            if (lower is not None and created < lower) or (upper is not None and created > upper):
                continue
            if needle is not None and needle not in entry["title"].casefold() and needle not in entry["eid"].casefold():
                continue
            if wanted or not show_archived:
                keys = {rules.tag_key(tag) for tag in entry["tags"]}
                if wanted and not keys & wanted:
                    continue
                if not show_archived and archived in keys:
                    continue
            matches.append(entry)
        matches.sort(key=lambda entry: (entry["created_at"], rules.eid_sort_key(entry["eid"])), reverse=True)
        return [Experiment(self, entry) for entry in matches[offset : offset + limit]]

    def get_experiment_by_eid(self, eid: str) -> Experiment:
        """The experiment with this EID.

        :raise plait.exceptions.InvalidEID: if ``eid`` is not of the form ``YYYYMMDD-N``
        :raise plait.exceptions.ExperimentNotFound: if no experiment has it (or it was removed)
        """
        return Experiment(self, self._record_by_eid(eid))

    def get_experiment_by_uuid(self, uuid: uuid.UUID | str) -> Experiment:
        """The experiment with this UUID.

        :raise plait.exceptions.InvalidIdentifierException: if ``uuid`` is not a UUID
        :raise plait.exceptions.ExperimentNotFound: if there is no such experiment
        """
        experiment_uuid = _check_experiment_uuid(uuid)
        record = self._store.read_experiment(experiment_uuid)
        if record is None:
            raise ExperimentNotFound(f"There is no experiment {experiment_uuid} in {self.location}.")
        return Experiment(self, record)

    def remove_experiment_by_eid(self, eid: str) -> None:
        """Remove an experiment: its metadata and its files. Its tasks stay readable; its EID is not reused.

        :raise plait.exceptions.ExperimentNotFound: if no experiment has this EID
        """
        self._store.remove_experiment(self._record_by_eid(eid)["uuid"])

    def rebuild_index(self) -> int:
        """Rebuild the search index from the experiments themselves (a repair); return how many there are."""
        return self._store.rebuild_index()

    def _record_by_eid(self, eid: str) -> dict[str, Any]:
        eid = rules.check_eid(eid)
        experiment_uuid = self._store.eid_owner(eid)
        record = self._store.read_experiment(experiment_uuid) if experiment_uuid else None
        if record is None:
            raise ExperimentNotFound(
                f"There is no experiment {eid} in {self.location}"
                + (" (it was removed)." if experiment_uuid else ": check the EID (find_experiments lists them).")
            )
        return record

    # -- extensions --

    def get_extensions(self) -> list[Extension]:
        """The registered extensions, read afresh (the list changes as services are registered)."""
        documents = self._store.list_documents(EXTENSIONS_DIRECTORY)
        return sorted((Extension(self, document) for _, document in documents), key=lambda extension: extension.name)

    def get_extension(self, name: str) -> Extension:
        """The registered extension with this name.

        :raise plait.exceptions.ExtensionNotFound: if there is none
        """
        document = self._store.read_document(f"{EXTENSIONS_DIRECTORY}/{check_extension_name(name)}.json")
        if document is None:
            names = [extension.name for extension in self.get_extensions()]
            raise ExtensionNotFound(
                f"There is no extension {name!r} in {self.location}; the extensions are: {', '.join(names) or 'none'} "
                "(register a service with register_extension(SERVICE_DIRECTORY))."
            )
        return Extension(self, document)

    def register_extension(
        self,
        service_directory: str,
        revision_tag: str = "local",
        backend: dict[str, Any] | None = None,
        service_bucket: str | None = None,
        name: str | None = None,
        authors: str | None = None,
    ) -> Extension:
        """Register the service in ``service_directory`` as an extension (replacing one of the same name).

        :param revision_tag: the revision to ask (its SRUID is ``<namespace>/<name>:<revision_tag>``)
        :param backend: how to reach it (default: a local stack, ``{"name": "LocalBackend"}``)
        :param service_bucket: its service bucket, where task status is read (default for a local
            stack: the local stack's)
        :param name: the extension's name (default: the service's name)
        :param authors: who provides it (default: the service's namespace)
        """
        registration = registration_from_service_directory(
            service_directory, revision_tag, backend, service_bucket, name, authors
        )
        self._store.write_document(f"{EXTENSIONS_DIRECTORY}/{registration['name']}.json", registration)
        return Extension(self, registration)

    def unregister_extension(self, name: str) -> None:
        """Forget an extension (its tasks stay readable).

        :raise plait.exceptions.ExtensionNotFound: if there is no such extension
        """
        if not self._store.delete_document(f"{EXTENSIONS_DIRECTORY}/{check_extension_name(name)}.json"):
            raise ExtensionNotFound(f"There is no extension {name!r} in {self.location}.")

    # -- tasks --

    def get_task(self, task_id: uuid.UUID | str) -> Task:
        """A task, its status up to date.

        :raise plait.exceptions.TaskNotFound: if there is no such task
        """
        return read_task(self, task_id)

    def get_tasks(
        self,
        limit: int = 10,
        offset: int = 0,
        extension_name: str | None = None,
        experiment_uuid: uuid.UUID | str | None = None,
        action_name: str | None = None,
        username: str | None = None,
        start_date: dt.datetime | dt.date | None = None,
        end_date: dt.datetime | dt.date | None = None,
    ) -> list[Task]:
        """Tasks matching every filter given, newest first; the dates bound when they were received,
        inclusively (a ``date`` covers its whole UTC day). ``limit`` is 1 to 500."""
        return list_tasks(
            self, limit, offset, extension_name, experiment_uuid, action_name, username, start_date, end_date
        )

    def cancel_task(self, task_id: uuid.UUID | str, reason: str = "") -> Task:
        """Cancel a task: its service stops answering the question; the task becomes REVOKED.

        :raise plait.exceptions.TaskAlreadyEnded: if it has already ended
        """
        return cancel_task(self, task_id, reason)


def _check_experiment_uuid(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InvalidIdentifierException(
            f"{value!r} is not an experiment UUID: it should look like {uuid.uuid4()} (or look the experiment "
            "up by its EID with get_experiment_by_eid)."
        ) from None
