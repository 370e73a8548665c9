"""The local bus over HTTP, so other processes on this machine can use a running local stack.

``plait start`` serves its ``LocalBus`` with ``serve_bus`` on 127.0.0.1; ``plait ask`` (or any
process with ``PLAIT_LOCAL_BUS_URL`` set and ``PLAIT_TRANSPORT=local``) reaches it through
``RemoteBus``, a ``Transport`` like any other. The API is JSON over HTTP:

- ``POST /v1/topics`` ``{"topic"}`` — create a topic;
- ``POST /v1/publish`` ``{"topic", "data" (base64), "attributes", "ordering_key"}`` → ``{"message_id"}``;
- ``POST /v1/subscriptions`` ``{"topic", "question_uuid"}`` → ``{"subscription"}``;
- ``POST /v1/subscriptions/<id>/receive`` ``{"timeout"}`` → ``{"messages": [...]}`` (waits up to
  ``timeout`` seconds, at most 30, for the first message);
- ``DELETE /v1/subscriptions/<id>``.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import deque
from typing import Any

from plait.cloud.transport.base import Message, Subscription, Transport
from plait.exceptions import ServiceUnavailable

MAXIMUM_RECEIVE_WAIT = 30.0


def _encode(message: Message) -> dict[str, Any]:
    return {
        "data": base64.b64encode(message.data).decode("ascii"),
        "attributes": message.attributes,
        "message_id": message.message_id,
        "ordering_key": message.ordering_key,
    }


class BusServer:
    """Serves a ``LocalBus`` on 127.0.0.1 (see the module docstring)."""

    def __init__(self, bus: Any, port: int | None = None) -> None:
        from werkzeug.serving import make_server

        from plait.cloud.emulators.storage import HOST, free_port

        self.bus = bus
        self._subscriptions: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self._server = make_server(HOST, self.port, self._application, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="plait-bus-server", daemon=True)

    def start(self) -> BusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        with self._lock:
            for subscription in self._subscriptions.values():
                subscription.close()
            self._subscriptions.clear()

    def _application(self, environ: dict, start_response: Any) -> Any:
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        try:
            body = json.loads(request.get_data() or b"{}")
            status, result = self._route(request.method, request.path, body)
        except (ValueError, KeyError, TypeError) as error:
            status, result = 400, {"error": f"bad request: {error}"}
        except ServiceUnavailable as error:
            status, result = 503, {"error": str(error)}
        return Response(json.dumps(result), status=status, content_type="application/json")(environ, start_response)

    def _route(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "topics"]:
            self.bus.create_topic(body["topic"])
            return 200, {}
        if method == "POST" and parts == ["v1", "publish"]:
            data = base64.b64decode(body["data"], validate=True)
            message_id = self.bus.publish(body["topic"], data, dict(body["attributes"]), body.get("ordering_key"))
            return 200, {"message_id": message_id}
        if method == "POST" and parts == ["v1", "subscriptions"]:
            identifier = uuid.uuid4().hex
            subscription = self.bus.subscribe(body["topic"], body["question_uuid"])
            with self._lock:
                self._subscriptions[identifier] = subscription
            return 200, {"subscription": identifier}
        if len(parts) >= 3 and parts[:2] == ["v1", "subscriptions"]:
            with self._lock:
                subscription = self._subscriptions.get(parts[2])
            if subscription is None:
                return 404, {"error": f"no subscription {parts[2]}"}
            if method == "DELETE" and len(parts) == 3:
                with self._lock:
                    self._subscriptions.pop(parts[2], None)
                subscription.close()
                return 200, {}
            if method == "POST" and parts[3:] == ["receive"]:
                wait = min(float(body.get("timeout", 1.0)), MAXIMUM_RECEIVE_WAIT)
                messages = []
                first = subscription.receive(timeout=wait)
                while first is not None:
                    messages.append(_encode(first))
                    first = subscription.receive(timeout=0)
                return 200, {"messages": messages}
        return 404, {"error": f"no route for {method} {path}"}


class RemoteBus(Transport):
    """A ``Transport`` over a ``BusServer`` (a local stack running in another process)."""

    def __init__(self, url: str) -> None:
        import requests

        self.url = url.rstrip("/")
        self._session = requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 60) -> dict[str, Any]:
        import requests

        try:
            response = self._session.request(method, self.url + path, json=body or {}, timeout=timeout)
        except requests.RequestException as error:
            raise ServiceUnavailable(
                f"The local stack's bus at {self.url} cannot be reached ({error}): is `plait start` still running?"
            ) from error
        if response.status_code >= 500:
            raise ServiceUnavailable(f"The local bus failed: {response.text}")
        if response.status_code >= 400:
            raise ValueError(f"The local bus refused {method} {path}: {response.text}")
        return response.json()

    def create_topic(self, topic: str) -> None:
        self._call("POST", "/v1/topics", {"topic": topic})

    def publish(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str | None = None) -> str:
        body = {"topic": topic, "data": base64.b64encode(data).decode("ascii"), "attributes": attributes}
        return self._call("POST", "/v1/publish", {**body, "ordering_key": ordering_key})["message_id"]

    def subscribe(self, topic: str, question_uuid: str) -> Subscription:
        identifier = self._call("POST", "/v1/subscriptions", {"topic": topic, "question_uuid": question_uuid})
        return _RemoteSubscription(self, identifier["subscription"], question_uuid)


class _RemoteSubscription(Subscription):
    def __init__(self, bus: RemoteBus, identifier: str, question_uuid: str) -> None:
        self.bus = bus
        self.identifier = identifier
        self.question_uuid = question_uuid
        self._buffer: deque[Message] = deque()
        self._closed = False

    def receive(self, timeout: float | None = None) -> Message | None:
        if not self._buffer:
            wait = MAXIMUM_RECEIVE_WAIT if timeout is None else timeout
            result = self.bus._call(
                "POST", f"/v1/subscriptions/{self.identifier}/receive", {"timeout": wait}, timeout=wait + 30
            )
            for item in result["messages"]:
                self._buffer.append(
                    Message(
                        data=base64.b64decode(item["data"]),
                        attributes=item["attributes"],
                        message_id=item["message_id"],
                        ordering_key=item.get("ordering_key"),
                    )
                )
        return self._buffer.popleft() if self._buffer else None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self.bus._call("DELETE", f"/v1/subscriptions/{self.identifier}")
            except (ServiceUnavailable, ValueError):
                pass
