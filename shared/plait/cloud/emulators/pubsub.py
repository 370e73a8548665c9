"""The official Google Cloud Pub/Sub emulator, run as a child process on 127.0.0.1.

The emulator ships with the Google Cloud CLI (component ``pubsub-emulator``, Debian package
``google-cloud-cli-pubsub-emulator``) and needs Java 17 or later. It is found without running
``gcloud beta emulators pubsub start``: the launcher script
``<sdk root>/platform/pubsub-emulator/bin/cloud-pubsub-emulator`` is run directly with
``--host`` and ``--port``, in a new session so that the whole (Java) process tree can be
stopped with one signal.

Known differences from the real service: the emulator accepts subscription filters but does
not apply them (every message reaches every subscription), keeps everything in memory, and a
synchronous pull whose deadline is under about a second returns at once, empty.

Usage::

    with PubSubEmulator() as emulator, emulator.environment():
        ...  # google-cloud-pubsub clients made here talk to the emulator
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from plait.cloud.emulators.storage import HOST, free_port
from plait.exceptions import PlaitException

#: The launcher's path inside a Google Cloud SDK installation.
LAUNCHER_IN_SDK = os.path.join("platform", "pubsub-emulator", "bin", "cloud-pubsub-emulator")

#: Where the Google Cloud SDK is commonly installed, tried when ``gcloud`` cannot say.
COMMON_SDK_ROOTS = (
    "/usr/lib/google-cloud-sdk",
    "/usr/share/google-cloud-sdk",
    "/opt/google-cloud-sdk",
    "/snap/google-cloud-cli/current",
    "/snap/google-cloud-sdk/current",
    os.path.expanduser("~/google-cloud-sdk"),
)

#: The project the emulator's resources are made in unless told otherwise.
DEFAULT_PROJECT = "plait-local"

INSTALL_HINT = (
    "Install the Google Cloud CLI with its Pub/Sub emulator component (`gcloud components install "
    "pubsub-emulator`, or the Debian package `google-cloud-cli-pubsub-emulator`)."
)


class PubSubEmulatorError(PlaitException, RuntimeError):
    """The Pub/Sub emulator could not be started, or stopped answering."""


class PubSubEmulatorNotFound(PubSubEmulatorError, FileNotFoundError):
    """The Pub/Sub emulator's launcher, or the Java it needs, is not installed on this machine."""


class _ExitedEarly(PubSubEmulatorError):
    """The emulator process ended before answering (e.g. its port was taken meanwhile)."""


def _sdk_root_from_gcloud(gcloud: str) -> str | None:
    """The SDK root that ``gcloud info`` reports (with a throwaway configuration directory)."""
    with tempfile.TemporaryDirectory(prefix="plait-gcloud-config-") as config:
        # A private configuration directory: gcloud fails when CLOUDSDK_CONFIG is unusable (the
        # test suite points it at /dev/null), and asking it a question should change nothing.
        environment = {**os.environ, "CLOUDSDK_CONFIG": config, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
        try:
            completed = subprocess.run(
                [gcloud, "info", "--format=value(installation.sdk_root)"],
                capture_output=True,
                text=True,
                timeout=60,
                env=environment,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
    root = completed.stdout.strip()
    return root if completed.returncode == 0 and root else None


def find_launcher(sdk_root: str | None = None) -> str:
    """The path of the ``cloud-pubsub-emulator`` launcher script.

    Looks, in order: in ``sdk_root`` if given; for ``cloud-pubsub-emulator`` on ``PATH``; in the
    SDK that the ``gcloud`` on ``PATH`` belongs to (by its real path, then by asking
    ``gcloud info``); in the usual installation directories.

    :raise PubSubEmulatorNotFound: if there is no launcher anywhere, saying where it looked
    """
    tried: list[str] = []

    def candidate(root: str | None) -> str | None:
        if not root:
            return None
        path = os.path.join(root, LAUNCHER_IN_SDK)
        if path not in tried:
            tried.append(path)
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None

    if sdk_root is not None:
        found = candidate(sdk_root)
        if found:
            return found
        raise PubSubEmulatorNotFound(f"There is no Pub/Sub emulator launcher at {tried[0]}. {INSTALL_HINT}")

    on_path = shutil.which("cloud-pubsub-emulator")
    if on_path:
        return on_path

    gcloud = shutil.which("gcloud")
    if gcloud:
        # .../google-cloud-sdk/bin/gcloud, often reached through a symlink such as /usr/bin/gcloud.
        found = candidate(os.path.dirname(os.path.dirname(os.path.realpath(gcloud))))
        if found:
            return found
        found = candidate(_sdk_root_from_gcloud(gcloud))
        if found:
            return found

    for root in COMMON_SDK_ROOTS:
        found = candidate(root)
        if found:
            return found

    where = "; ".join(tried)
    gcloud_note = "" if gcloud else " `gcloud` is not on PATH."
    raise PubSubEmulatorNotFound(f"The Pub/Sub emulator was not found (looked at {where}).{gcloud_note} {INSTALL_HINT}")


def find_java() -> str:
    """The ``java`` the launcher will run: ``$JAVA_HOME/bin/java`` if ``JAVA_HOME`` is set, else ``java`` on ``PATH``.

    :raise PubSubEmulatorNotFound: if there is none
    """
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        for relative in (("jre", "sh", "java"), ("bin", "java")):
            path = os.path.join(java_home, *relative)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
        raise PubSubEmulatorNotFound(
            f"JAVA_HOME is set to {java_home!r}, which has no bin/java. The Pub/Sub emulator needs Java 17 "
            "or later: set JAVA_HOME to a Java installation or unset it to use the java on PATH."
        )
    java = shutil.which("java")
    if java:
        return java
    raise PubSubEmulatorNotFound(
        "Java was not found (no JAVA_HOME and no `java` on PATH). The Pub/Sub emulator needs Java 17 or "
        "later: install a JRE (e.g. the Debian package `openjdk-17-jre-headless`) or set JAVA_HOME."
    )


class PubSubEmulator:
    """The Pub/Sub emulator, running as a child process until stopped.

    :param port: the port to listen on (a free one if None)
    :param project: the project that :meth:`environment` sets as ``GOOGLE_CLOUD_PROJECT``
    :param startup_timeout: seconds to wait for the emulator to answer before giving up
    :param launcher: the launcher script to run (found by :func:`find_launcher` if None)
    """

    def __init__(
        self,
        port: int | None = None,
        project: str = DEFAULT_PROJECT,
        startup_timeout: float = 30.0,
        launcher: str | None = None,
    ) -> None:
        self.port = port
        self.project = project
        self.startup_timeout = startup_timeout
        self.launcher = launcher
        #: The file the emulator's output goes to (kept after stopping, for diagnosis).
        self.log_path: str | None = None
        #: Seconds from launching the process to its first answer.
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        """``host:port``, the value for ``PUBSUB_EMULATOR_HOST``."""
        return f"{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> PubSubEmulator:
        """Start the emulator and wait until it answers.

        :raise PubSubEmulatorNotFound: if the launcher or Java is missing
        :raise PubSubEmulatorError: if it exits or does not answer within ``startup_timeout`` seconds
        """
        if self.running:
            return self
        launcher = self.launcher or find_launcher()
        find_java()
        attempts = 1 if self.port else 3
        for attempt in range(attempts):
            port = self.port or free_port()
            try:
                self._launch(launcher, port)
            except _ExitedEarly:
                # Another process may have taken the free port between choosing and binding it.
                if attempt == attempts - 1:
                    raise
                continue
            self.port = port
            break
        atexit.register(self.stop)
        return self

    def _launch(self, launcher: str, port: int) -> None:
        descriptor, self.log_path = tempfile.mkstemp(prefix="plait-pubsub-emulator-", suffix=".log")
        started = time.monotonic()
        with os.fdopen(descriptor, "wb") as log:
            self._process = subprocess.Popen(
                [launcher, f"--host={HOST}", f"--port={port}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = started + self.startup_timeout
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise _ExitedEarly(
                    f"The Pub/Sub emulator exited with code {code} before answering on port {port}. "
                    f"Its output ({self.log_path}):\n{self._log_tail()}"
                )
            if _answers(port):
                self.startup_seconds = time.monotonic() - started
                return
            if time.monotonic() > deadline:
                self._terminate()
                raise PubSubEmulatorError(
                    f"The Pub/Sub emulator did not answer on {HOST}:{port} within {self.startup_timeout:g} s. "
                    f"Its output ({self.log_path}):\n{self._log_tail()}"
                )
            time.sleep(0.05)

    def _log_tail(self, characters: int = 4000) -> str:
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, errors="replace") as file:
                return file.read()[-characters:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the emulator's whole process group (idempotent)."""
        atexit.unregister(self.stop)
        self._terminate()

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for sending, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, sending)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue

    @contextlib.contextmanager
    def environment(self) -> Iterator[PubSubEmulator]:
        """Set ``PUBSUB_EMULATOR_HOST`` and ``GOOGLE_CLOUD_PROJECT`` for the block, then restore them."""
        names = ("PUBSUB_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")
        previous = {name: os.environ.get(name) for name in names}
        os.environ["PUBSUB_EMULATOR_HOST"] = self.host
        os.environ["GOOGLE_CLOUD_PROJECT"] = self.project
        try:
            yield self
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def __enter__(self) -> PubSubEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _answers(port: int) -> bool:
    """Whether something on the port answers an HTTP GET as the emulator does (``200 Ok``)."""
    # No proxy: a proxy named in the environment must not answer for (or block) a local port.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{HOST}:{port}/", timeout=1) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False
