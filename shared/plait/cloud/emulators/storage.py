"""An embedded Google Cloud Storage emulator (``gcp-storage-emulator``) on 127.0.0.1.

Used by the local stack and the test suite so that the real ``google-cloud-storage`` code path
runs without a cloud account. The emulator does not check signed-URL signatures.

**Generation preconditions.** gcp-storage-emulator ignores ``ifGenerationMatch`` and friends,
but plait's claims and "create if absent" records depend on them, so starting a
``StorageEmulator`` installs plait's checks (``install_precondition_checks``). They are
process-wide (they apply to every gcp-storage-emulator server in the process) and installing
them twice changes nothing. The emulator's router looks up the module global
``gcp_storage_emulator.server.HANDLERS`` on every request, so the checks replace it with a copy
whose object handlers are wrapped:

- creations (uploads of every kind: media, multipart, resumable initiation and the resumable
  ``PUT`` that finishes the upload, XML ``PUT``; copy, rewrite, compose) check
  ``ifGenerationMatch``, ``ifGenerationNotMatch``, ``ifMetagenerationMatch`` and
  ``ifMetagenerationNotMatch`` against the destination object, an absent object counting as
  generation (and metageneration) 0 — so ``ifGenerationMatch=0`` means "only if absent". Copy
  and rewrite also check the ``ifSource...`` conditions against the source object;
- reads, patches and deletes of an existing object check the same four conditions; an absent
  object is left to the handler, which answers 404 as GCS does;
- an unmet condition is answered ``412`` with GCS's JSON error body
  (``{"error": {"code": 412, "message": "conditionNotMet ...", ...}}``), which
  google-cloud-storage raises as ``google.api_core.exceptions.PreconditionFailed``;
- the check and the write happen under one lock per emulator storage, so two racing
  ``ifGenerationMatch=0`` uploads cannot both succeed;
- downloads carry ``x-goog-generation`` and ``x-goog-metageneration`` headers, as GCS's do, so a
  client learns the generation of the bytes it read; a download of a ``generation`` other than the
  live one is answered 404 (the emulator keeps no older generations, like a bucket without
  versioning).

Batch requests (``/batch/storage/v1``) are not checked.

**Object finalized callbacks.** ``StorageEmulator.on_object_finalized`` is a list of callables
``(bucket: str, name: str, generation: str) -> None``, called once after every successful object
creation (any upload, copy, rewrite, compose) — the local stack uses it to synthesise GCS
"object finalized" events. They are called on the emulator's request thread, outside the lock
and before the response is sent, so by the time an upload returns its callbacks have run. A
callback must not wait for the emulator itself (the emulator serves one request at a time):
hand the event to a queue or another thread instead. Exceptions from callbacks are logged, not
raised.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import socket
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

HOST = "127.0.0.1"

logger = logging.getLogger(__name__)

#: ``(bucket, name, generation)``: what an object finalized callback is given.
ObjectFinalizedCallback = Callable[[str, str, str], None]


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class StorageEmulator:
    """A storage emulator running in this process, in a background thread, enforcing preconditions.

    :param buckets: buckets to create once the emulator is up
    :param port: the port to listen on (a free one if None)
    :param data_dir: keep objects in this directory instead of in memory
    """

    def __init__(self, buckets: tuple[str, ...] = (), port: int | None = None, data_dir: str | None = None) -> None:
        self.buckets = buckets
        self.port = port
        self.data_dir = data_dir
        #: Called with ``(bucket, name, generation)`` after every object creation (see the module docstring).
        self.on_object_finalized: list[ObjectFinalizedCallback] = []
        self._server = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> StorageEmulator:
        from gcp_storage_emulator.server import create_server

        install_precondition_checks()
        # The emulator logs every request at INFO; keep it quiet unless something is wrong.
        logging.getLogger("gcp_storage_emulator").setLevel(logging.CRITICAL)
        attempts = 1 if self.port else 5
        for attempt in range(attempts):
            port = self.port or free_port()
            server = create_server(HOST, port, in_memory=self.data_dir is None, data_dir=self.data_dir)
            _register_storage(server._storage, self.on_object_finalized)
            if self.data_dir is None:
                # In memory, the emulator still rewrites its whole object index after every write (it
                # is only read back at start-up), so writes slowed as buckets filled. Skip it.
                server._storage._write_config_to_file = lambda: None
            try:
                server.start()
            except OSError:
                if attempt == attempts - 1:
                    raise
                continue
            self._server, self.port = server, port
            break

        for bucket in self.buckets:
            self.create_bucket(bucket)
        return self

    def create_bucket(self, name: str) -> None:
        from google.api_core.exceptions import Conflict
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        client = storage.Client(
            project="plait-local", credentials=AnonymousCredentials(), client_options={"api_endpoint": self.url}
        )
        with contextlib.suppress(Conflict):
            client.create_bucket(name)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @contextlib.contextmanager
    def environment(self) -> Iterator[StorageEmulator]:
        """Point ``STORAGE_EMULATOR_HOST`` at this emulator for the duration of the block."""
        previous = os.environ.get("STORAGE_EMULATOR_HOST")
        os.environ["STORAGE_EMULATOR_HOST"] = self.url
        try:
            yield self
        finally:
            if previous is None:
                os.environ.pop("STORAGE_EMULATOR_HOST", None)
            else:
                os.environ["STORAGE_EMULATOR_HOST"] = previous

    def __enter__(self) -> StorageEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# -- precondition checks: installed into gcp-storage-emulator's handler table --


@dataclass
class _StorageState:
    """What plait keeps per emulator storage: the check-and-write lock and the finalized callbacks."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    callbacks: list[ObjectFinalizedCallback] = field(default_factory=list)


_states: weakref.WeakKeyDictionary[Any, _StorageState] = weakref.WeakKeyDictionary()
_states_lock = threading.Lock()
_installed_handlers: tuple | None = None

# (query parameter, object field, holds if) for the four conditions GCS accepts.
_CONDITIONS = (
    ("ifGenerationMatch", "generation", True),
    ("ifGenerationNotMatch", "generation", False),
    ("ifMetagenerationMatch", "metageneration", True),
    ("ifMetagenerationNotMatch", "metageneration", False),
)
_SOURCE_CONDITIONS = tuple((f"ifSource{name[2:]}", key, equal) for name, key, equal in _CONDITIONS)
_XML_CONDITIONS = (
    ("x-goog-if-generation-match", "generation", True),
    ("x-goog-if-metageneration-match", "metageneration", True),
)


class _ConditionNotMet(Exception):
    pass


class _InvalidCondition(Exception):
    pass


def _register_storage(storage: Any, callbacks: list[ObjectFinalizedCallback]) -> None:
    with _states_lock:
        _states[storage] = _StorageState(callbacks=callbacks)


def _state(storage: Any) -> _StorageState:
    with _states_lock:
        state = _states.get(storage)
        if state is None:  # a server plait did not start: still checked, with no callbacks
            state = _states[storage] = _StorageState()
        return state


def install_precondition_checks() -> None:
    """Make every gcp-storage-emulator server in this process enforce generation preconditions.

    Idempotent; see the module docstring for what is checked.
    """
    global _installed_handlers
    from gcp_storage_emulator import server

    with _states_lock:
        if server.HANDLERS is _installed_handlers:
            return
        server.HANDLERS = _installed_handlers = tuple(
            (regex, _wrap_route(regex, handlers)) for regex, handlers in server.HANDLERS
        )


def _wrap_route(regex: str, handlers: dict[str, Callable]) -> dict[str, Callable]:
    from gcp_storage_emulator.handlers import objects

    wrappers: dict[Any, Callable[[Callable], Callable]] = {
        objects.insert: _creation(_insert_target),
        objects.upload_partial: _creation(_resumable_target),
        objects.xml_upload: _creation(_params_target, conditions=_XML_CONDITIONS, from_headers=True),
        objects.compose: _creation(_params_target),
        objects.copy: _creation(_destination_target, source_target=_params_target),
        objects.patch: _on_existing(),
        objects.delete: _on_existing(),
        objects.get: _on_existing(reads=True),
        objects.download: _on_existing(reads=True),
    }
    if hasattr(objects, "rewrite"):
        wrappers[objects.rewrite] = _creation(_destination_target, source_target=_params_target)

    wrapped = {}
    for method, handler in handlers.items():
        wrapper = wrappers.get(handler)
        wrapped[method] = wrapper(handler) if wrapper and not getattr(handler, "_plait_checked", False) else handler

    # The router falls back to the unwrapped ``objects.insert`` for uploads POSTed to ``.../b/<bucket>/o``
    # (no ``/upload`` prefix); route those through the checked one instead.
    if regex.endswith("/o$") and "bucket_name" in regex and "POST" not in wrapped:
        wrapped["POST"] = wrappers[objects.insert](objects.insert)
    return wrapped


# Which object a request writes: (bucket, name), or None to leave the request to the handler.


def _params_target(request: Any, storage: Any) -> tuple[str, str] | None:
    return request.params["bucket_name"], request.params["object_id"]


def _destination_target(request: Any, storage: Any) -> tuple[str, str] | None:
    return request.params["dest_bucket_name"], request.params["dest_object_id"]


def _resumable_target(request: Any, storage: Any) -> tuple[str, str] | None:
    from gcp_storage_emulator.exceptions import NotFound

    upload_id = (request.query.get("upload_id") or [None])[0]
    try:
        upload = storage.get_resumable_file_obj(upload_id)
    except (NotFound, KeyError, TypeError):
        return None
    return upload.get("bucket"), upload.get("name")


def _insert_target(request: Any, storage: Any) -> tuple[str, str] | None:
    if "upload_id" in request.query:  # a resumable chunk POSTed instead of PUT
        return _resumable_target(request, storage)
    bucket = request.params["bucket_name"]
    if "name" in request.query:
        return bucket, request.query["name"][0]
    upload_type = (request.query.get("uploadType") or [None])[0]
    data = request.data
    if upload_type == "multipart" and isinstance(data, dict):
        return bucket, (data.get("meta") or {}).get("name")
    if upload_type == "resumable" and isinstance(data, dict):
        return bucket, data.get("name")
    return None


def _current(storage: Any, bucket: str, name: str) -> dict | None:
    return storage.objects.get(bucket, {}).get(name)


def _check(request: Any, conditions: tuple, current: dict | None, from_headers: bool = False) -> None:
    """Raise ``_ConditionNotMet`` if a condition in the request does not hold for ``current``."""
    if from_headers:
        given = {name: request.get_header(name) for name, _, _ in conditions}
    else:
        lowered = {key.lower(): values for key, values in request.query.items()}  # clients differ in case
        given = {name: (lowered.get(name.lower()) or [None])[-1] for name, _, _ in conditions}

    for name, key, must_equal in conditions:
        value = given[name]
        if value is None:
            continue
        try:
            expected = int(value)
        except ValueError as error:
            raise _InvalidCondition(f"Invalid value for {name}: {value!r} is not an integer.") from error
        actual = int((current or {}).get(key) or 0)
        if (actual == expected) != must_equal:
            raise _ConditionNotMet(f"{name}={expected}, but the object's {key} is {actual}")


def _answer_condition_not_met(response: Any, detail: str, xml: bool = False) -> None:
    message = "At least one of the pre-conditions you specified did not hold"
    response.status = HTTPStatus.PRECONDITION_FAILED
    if xml:
        body = (
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>PreconditionFailed</Code>"
            f"<Message>{message}.</Message><Details>{detail}</Details></Error>"
        )
        response.write_file(body.encode("utf-8"), content_type="application/xml; charset=UTF-8")
        return
    response.json(
        {
            "error": {
                "code": 412,
                "message": f"conditionNotMet: {message} ({detail}).",
                "errors": [{"domain": "global", "reason": "conditionNotMet", "message": f"{message}."}],
            }
        }
    )


def _answer_invalid(response: Any, message: str) -> None:
    response.status = HTTPStatus.BAD_REQUEST
    response.json({"error": {"code": 400, "message": message, "errors": [{"reason": "invalid", "message": message}]}})


def _creation(
    target: Callable,
    source_target: Callable | None = None,
    conditions: tuple = _CONDITIONS,
    from_headers: bool = False,
) -> Callable[[Callable], Callable]:
    """Wrap a handler that creates an object: check preconditions, then report the new object."""

    def wrap(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def checked(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> Any:
            state = _state(storage)
            with state.lock:
                destination = target(request, storage)
                before = _current(storage, *destination) if destination else None
                try:
                    if destination:
                        _check(request, conditions, before, from_headers)
                    if source_target:
                        source = _current(storage, *source_target(request, storage))
                        if source is not None:  # an absent source is the handler's 404
                            _check(request, _SOURCE_CONDITIONS, source)
                except _ConditionNotMet as unmet:
                    return _answer_condition_not_met(response, str(unmet), xml=from_headers)
                except _InvalidCondition as error:
                    return _answer_invalid(response, str(error))

                result = handler(request, response, storage, *args, **kwargs)
                after = _current(storage, *destination) if destination else None

            created = after is not None and (before is None or after.get("generation") != before.get("generation"))
            if created:
                _start_at_metageneration_one(storage, after, response)
                _object_finalized(state, destination[0], destination[1], str(after.get("generation")))
            return result

        checked._plait_checked = True
        return checked

    return wrap


def _start_at_metageneration_one(storage: Any, created: dict, response: Any) -> None:
    """Give a new object metageneration 1, as GCS does (the emulator counts its initial metadata as a patch)."""
    if str(created.get("metageneration")) == "1":
        return
    created["metageneration"] = "1"
    if getattr(storage, "_use_memory_fs", True) is False:
        storage._write_config_to_file()
    try:
        body = json.loads(response._content)
    except (TypeError, ValueError):
        return
    resource = body.get("resource", body) if isinstance(body, dict) else None
    if isinstance(resource, dict) and resource.get("generation") == created.get("generation"):
        resource["metageneration"] = "1"
        response._content = json.dumps(body)


def _on_existing(reads: bool = False) -> Callable[[Callable], Callable]:
    """Wrap a handler that reads, patches or deletes an existing object."""

    def wrap(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def checked(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> Any:
            bucket, name = _params_target(request, storage)
            with _state(storage).lock:
                current = _current(storage, bucket, name)
                if reads and current is not None and _other_generation(request, current):
                    # Only the live generation is kept (a bucket without versioning): older ones are gone.
                    response.status = HTTPStatus.NOT_FOUND
                    return None
                if current is not None:
                    try:
                        _check(request, _CONDITIONS, current)
                    except _ConditionNotMet as unmet:
                        return _answer_condition_not_met(response, str(unmet))
                    except _InvalidCondition as error:
                        return _answer_invalid(response, str(error))

                result = handler(request, response, storage, *args, **kwargs)
                if reads and current is not None and response.status.value < 300:
                    response["x-goog-generation"] = str(current.get("generation"))
                    response["x-goog-metageneration"] = str(current.get("metageneration"))
            return result

        checked._plait_checked = True
        return checked

    return wrap


def _other_generation(request: Any, current: dict) -> bool:
    """Whether the request asks for a generation other than the object's live one."""
    if (request.query.get("softDeleted") or [""])[-1].lower() in ("1", "true", "yes"):
        return False
    requested = (request.query.get("generation") or [None])[-1]
    return requested is not None and str(requested) != str(current.get("generation"))


def _object_finalized(state: _StorageState, bucket: str, name: str, generation: str) -> None:
    for callback in list(state.callbacks):
        try:
            callback(bucket, name, generation)
        except Exception:
            logger.exception("An object finalized callback failed for gs://%s/%s#%s.", bucket, name, generation)


__all__ = ["HOST", "ObjectFinalizedCallback", "StorageEmulator", "free_port", "install_precondition_checks"]
