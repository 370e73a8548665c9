"""Transports: how events travel between parents and services.

``get_transport()`` chooses by the ``PLAIT_TRANSPORT`` environment variable: ``pubsub`` (the
default; Google Cloud Pub/Sub, or its emulator when ``PUBSUB_EMULATOR_HOST`` is set) or ``local``
(the local stack's in-process bus, or, with ``PLAIT_LOCAL_BUS_URL`` set, the bus of a local stack
running in another process: see ``plait.cloud.transport.remote_bus``).
"""

from __future__ import annotations

import os

from plait.cloud.transport.base import Message, Subscription, Transport

__all__ = ["Message", "Subscription", "Transport", "get_transport"]


def get_transport(name: str | None = None, project_name: str | None = None) -> Transport:
    """The transport named (or named by ``PLAIT_TRANSPORT``)."""
    from plait.exceptions import InvalidInputException

    name = name or os.environ.get("PLAIT_TRANSPORT", "pubsub")
    if name == "local":
        if os.environ.get("PLAIT_LOCAL_BUS_URL"):
            from plait.cloud.transport.remote_bus import RemoteBus

            return RemoteBus(os.environ["PLAIT_LOCAL_BUS_URL"])
        from plait.cloud.transport.local import LocalBus

        return LocalBus.instance()
    if name == "pubsub":
        from plait.cloud.transport.pubsub import GooglePubSubTransport

        return GooglePubSubTransport.shared(project_name)
    raise InvalidInputException(f"PLAIT_TRANSPORT={name!r} is not a transport: use 'pubsub' or 'local'.")
