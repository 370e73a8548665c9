"""Everything a function needs to serve one service revision, built once per process (a cold start).

The twine is loaded at once (intake validates every question against it); the app and its
Runner are loaded on first use, by the analysis runner only.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from plait.cloud.service.settings import ServiceSettings

logger = logging.getLogger(__name__)


@dataclass
class ServiceContext:
    settings: ServiceSettings
    transport: Any
    store: Any
    twine: Any
    service_configuration: Any
    app_configuration: Any
    _runner: Any = field(default=None, repr=False)
    _runner_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def sruid(self) -> str:
        return self.settings.sruid

    @property
    def runner(self) -> Any:
        """The service's Runner (the app is imported and its configuration validated on first use)."""
        with self._runner_lock:
            if self._runner is None:
                from plait.runner import Runner

                self._runner = Runner(
                    app_src=self.service_configuration.app_source_path,
                    twine=self.twine,
                    configuration_values=self.app_configuration.configuration_values,
                    configuration_manifest=self.app_configuration.configuration_manifest,
                    children=self.app_configuration.children,
                    output_location=self.app_configuration.output_location or self.settings.output_location,
                    crash_diagnostics_cloud_path=self.service_configuration.crash_diagnostics_cloud_path
                    or f"gs://{self.settings.service_bucket}/diagnostics",
                    project_name=self.settings.project,
                    service_id=self.sruid,
                )
            return self._runner

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> ServiceContext:
        from plait.cloud.questions import QuestionStore
        from plait.cloud.transport import get_transport
        from plait.configuration import load_service_and_app_configuration
        from plait.twine import Twine

        service_configuration, app_configuration = load_service_and_app_configuration(
            os.path.join(settings.app_directory, "plait.yaml")
        )
        expected = f"{service_configuration.namespace}/{service_configuration.name}"
        if not settings.sruid.startswith(expected + ":"):
            logger.warning("PLAIT_SERVICE_SRUID is %s but plait.yaml names the service %s.", settings.sruid, expected)
        return cls(
            settings=settings,
            transport=get_transport(settings.transport, settings.project),
            store=QuestionStore(settings.service_bucket, lease_seconds=settings.claim_lease_seconds),
            twine=Twine(service_configuration.twine_path),
            service_configuration=service_configuration,
            app_configuration=app_configuration,
        )


_context: ServiceContext | None = None
_context_lock = threading.Lock()


def get_service_context() -> ServiceContext:
    """This process's service context, made from the environment on first use."""
    global _context
    with _context_lock:
        if _context is None:
            _context = ServiceContext.from_settings(ServiceSettings.from_environment())
        return _context


def reset_service_context() -> None:
    """Forget the cached context (the next call reads the environment again)."""
    global _context
    with _context_lock:
        _context = None
