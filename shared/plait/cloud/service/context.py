"""Everything a function needs to serve one service revision, built once per process (a cold start)
and each part only when first used: the finalisation and signed-URL functions never load the
twine, the app or a Pub/Sub client; intake loads the twine but never the app.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from typing import Any

from plait.cloud.service.settings import ServiceSettings

logger = logging.getLogger(__name__)


class ServiceContext:
    """The settings, transport, question store, twine and Runner of one service revision."""

    def __init__(self, settings: ServiceSettings, transport: Any = None, store: Any = None) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        if transport is not None:
            self.__dict__["transport"] = transport
        if store is not None:
            self.__dict__["store"] = store

    @property
    def sruid(self) -> str:
        return self.settings.sruid

    def _once(self, name: str, make: Any) -> Any:
        with self._lock:
            if name not in self.__dict__:
                self.__dict__[name] = make()
            return self.__dict__[name]

    @property
    def transport(self) -> Any:
        from plait.cloud.transport import get_transport

        return self._once("transport", lambda: get_transport(self.settings.transport, self.settings.project))

    @property
    def store(self) -> Any:
        from plait.cloud.questions import QuestionStore

        return self._once(
            "store",
            lambda: QuestionStore(self.settings.service_bucket, lease_seconds=self.settings.claim_lease_seconds),
        )

    @property
    def configuration(self) -> tuple[Any, Any]:
        """The service and app configuration from ``<app directory>/plait.yaml``."""
        from plait.configuration import load_service_and_app_configuration

        def load() -> tuple[Any, Any]:
            service_configuration, app_configuration = load_service_and_app_configuration(
                os.path.join(self.settings.app_directory, "plait.yaml")
            )
            expected = f"{service_configuration.namespace}/{service_configuration.name}"
            if not self.sruid.startswith(expected + ":"):
                logger.warning("PLAIT_SERVICE_SRUID is %s but plait.yaml names the service %s.", self.sruid, expected)
            return service_configuration, app_configuration

        return self._once("configuration", load)

    @property
    def twine(self) -> Any:
        from plait.twine import Twine

        return self._once("twine", lambda: Twine(self.configuration[0].twine_path))

    @property
    def runner(self) -> Any:
        """The service's Runner (the app is imported and its configuration validated on first use)."""
        from plait.runner import Runner

        def make() -> Any:
            service_configuration, app_configuration = self.configuration
            return Runner(
                app_src=service_configuration.app_source_path,
                twine=self.twine,
                configuration_values=app_configuration.configuration_values,
                configuration_manifest=app_configuration.configuration_manifest,
                children=app_configuration.children,
                output_location=app_configuration.output_location or self.settings.output_location,
                crash_diagnostics_cloud_path=service_configuration.crash_diagnostics_cloud_path
                or f"gs://{self.settings.service_bucket}/diagnostics",
                project_name=self.settings.project,
                service_id=self.sruid,
            )

        return self._once("runner", make)


@functools.cache
def _cached_context() -> ServiceContext:
    return ServiceContext(ServiceSettings.from_environment())


_context_lock = threading.Lock()


def get_service_context() -> ServiceContext:
    """This process's service context, made from the environment on first use.

    :raise plait.exceptions.ServiceMisconfigured: if the environment variables are missing or invalid
    """
    with _context_lock:
        return _cached_context()


def reset_service_context() -> None:
    """Forget the cached context (the next call reads the environment again)."""
    with _context_lock:
        _cached_context.cache_clear()
