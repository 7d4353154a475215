"""The embedded stack: a single-node KRaft Kafka and the Temporal dev server, as plain processes.

Each component is started in its own session (process group) with a pid file under
`<var>/run/`. A pid is only trusted when `/proc/<pid>/cmdline` mentions this stack's var
folder, so a stale pid file (a reboot, a reused pid) never makes us skip a start or kill a
stranger, and `down` stops exactly what `up` started.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from string import Template

from contracts.temporal import search_attribute_declarations
from deploy.kafka_acls import Deployment, principals
from deploy.local.kafka_security import SecureKafka
from services.codec.settings import CodecSettings
from services.common.kafka import kafka_access
from services.common.probes import kafka_answers, port_open, temporal_answers, temporal_cli
from services.common.settings import Settings, split_host_port

__all__ = [
    "ComponentStatus",
    "KafkaProcess",
    "Stack",
    "StackConfig",
    "StackError",
    "TemporalProcess",
    "check_java",
    "ensure_kafka_jars",
]

HERE = Path(__file__).parent
POM = HERE / "pom.xml"
SERVER_PROPERTIES = HERE / "server.properties"
LOG4J2 = HERE / "log4j2.properties"
MIN_JAVA = 17


class StackError(Exception):
    """A problem the operator can fix; the message says what and how."""


@dataclass(frozen=True)
class StackConfig:
    var_dir: Path
    kafka_lib_dir: Path
    kafka_host: str = "localhost"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    temporal_host: str = "localhost"
    temporal_port: int = 7233
    temporal_ui_port: int | None = 8233  # None runs the dev server headless
    # The codec server the UI decodes through; it answers only engineers signed in to it.
    temporal_ui_codec_endpoint: str | None = None
    temporal_namespace: str = "default"
    kafka_heap: str = "512m"
    # SASL_SSL, ACLs and a principal per service (deploy/local/kafka_security.py); the
    # principals listed get SCRAM credentials when the storage is formatted.
    kafka_security: bool = False
    kafka_principals: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> StackConfig:
        var_dir = settings.var_dir.resolve()
        kafka_host, kafka_port = split_host_port(settings.kafka_bootstrap_servers)
        temporal_host, temporal_port = split_host_port(settings.temporal_address)
        return cls(
            var_dir=var_dir,
            kafka_lib_dir=var_dir / "kafka" / "lib",
            kafka_host=kafka_host,
            kafka_port=kafka_port,
            kafka_controller_port=settings.kafka_controller_port,
            kafka_security=settings.kafka_embedded_security,
            kafka_principals=_kafka_principals() if settings.kafka_embedded_security else (),
            temporal_host=temporal_host,
            temporal_port=temporal_port,
            temporal_ui_port=settings.temporal_ui_port,
            # The UI's host name, so the UI and the codec server are the same site and the
            # codec server's sign-in cookie goes with the UI's codec requests.
            temporal_ui_codec_endpoint=f"http://{temporal_host}:{CodecSettings().codec_port}",
            temporal_namespace=settings.temporal_namespace,
        )

    @property
    def kafka_bootstrap_servers(self) -> str:
        return f"{self.kafka_host}:{self.kafka_port}"

    @property
    def temporal_address(self) -> str:
        return f"{self.temporal_host}:{self.temporal_port}"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    address: str
    pid: int | None
    answers: bool
    url: str | None = None


@dataclass(frozen=True)
class _Port:
    label: str
    port: int
    setting: str  # the environment variable that moves it


class ManagedProcess(ABC):
    """One long-running process of the stack, owned through its pid file."""

    name: str

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def pid_file(self) -> Path:
        return self.config.var_dir / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.config.var_dir / "log" / f"{self.name}.log"

    @property
    @abstractmethod
    def address(self) -> str: ...

    @property
    def url(self) -> str | None:
        return None

    @abstractmethod
    def ports(self) -> list[_Port]: ...

    @abstractmethod
    def command(self) -> list[str]: ...

    @abstractmethod
    def answers(self) -> bool: ...

    @abstractmethod
    def prepare(self) -> None:
        """Check prerequisites and lay out files before the first start."""

    # -- ownership ---------------------------------------------------------------------

    def pid(self) -> int | None:
        """The pid of our running process, or None (removing a stale pid file)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if self._alive(pid) and self._is_ours(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def _is_ours(self, pid: int) -> bool:
        if self._child is not None and self._child.pid == pid:
            return True
        # The java launcher re-executes itself at start, and for that instant the kernel
        # shows an empty command line: look again before calling the pid a stranger's.
        for _ in range(20):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                return False
            if cmdline:
                return str(self.config.var_dir) in cmdline
            time.sleep(0.05)
        return False

    def _alive(self, pid: int) -> bool:
        if self._child is not None and self._child.pid == pid:
            return self._child.poll() is None
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        # The state follows the parenthesised command name; Z and X are dead.
        return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> bool:
        """Start and wait until it answers. False when it was already running."""
        launched = self.launch()
        if launched:
            self.wait_until_answering(timeout)
        return launched

    def launch(self) -> bool:
        """Start the process without waiting for it. False when it was already running."""
        if self.pid() is not None:
            return False
        for port in self.ports():
            if port_open(self._host, port.port):
                raise StackError(
                    f"{self.name}: {port.label} port {port.port} is already in use by another "
                    f"process. Stop that process, or move this one with {port.setting}."
                )
        self.prepare()
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self._child = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{self._child.pid}\n")
        return True

    def wait_until_answering(self, timeout: float) -> None:
        """Wait for the process `launch` started; stop it and raise if it fails to come up."""
        assert self._child is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._child.poll()
            if code is not None:
                self.pid_file.unlink(missing_ok=True)
                raise StackError(
                    f"{self.name} exited with code {code} while starting. "
                    f"Last lines of {self.log_file}:\n{_tail(self.log_file)}"
                )
            if self.answers():
                return
            time.sleep(0.5)
        self.stop()
        raise StackError(f"{self.name} did not answer within {timeout:.0f} s; see {self.log_file}")

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop our process (TERM, then KILL). False when nothing of ours was running."""
        pid = self.pid()
        if pid is None:
            return False
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self._alive(pid):
                time.sleep(0.2)
            if not self._alive(pid):
                break
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> ComponentStatus:
        return ComponentStatus(self.name, self.address, self.pid(), self.answers(), self.url)

    @property
    @abstractmethod
    def _host(self) -> str: ...


class KafkaProcess(ManagedProcess):
    name = "kafka"

    @property
    def _host(self) -> str:
        return self.config.kafka_host

    @property
    def address(self) -> str:
        return self.config.kafka_bootstrap_servers

    @property
    def _home(self) -> Path:
        return self.config.var_dir / "kafka"

    @property
    def _properties(self) -> Path:
        return self._home / "server.properties"

    def ports(self) -> list[_Port]:
        return [
            _Port("broker", self.config.kafka_port, "LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"),
            _Port(
                "controller", self.config.kafka_controller_port, "LIFEEVENTS_KAFKA_CONTROLLER_PORT"
            ),
        ]

    def _java(self, *args: str) -> list[str]:
        return [
            check_java(),
            f"-Xms{self.config.kafka_heap}",
            f"-Xmx{self.config.kafka_heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J2}",
            f"-Dkafka.logs.dir={self._home / 'logs'}",
            "-cp",
            f"{self.config.kafka_lib_dir}/*",
            *args,
        ]

    def command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self._properties))

    def prepare(self) -> None:
        check_java()
        ensure_kafka_jars(self.config.kafka_lib_dir)
        data_dir = self._home / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        properties = Template(SERVER_PROPERTIES.read_text()).substitute(
            host=self.config.kafka_host,
            port=self.config.kafka_port,
            controller_port=self.config.kafka_controller_port,
            data_dir=data_dir,
        )
        scram: list[str] = []
        if self._secure is not None:
            self._secure.prepare()
            properties += self._secure.properties(
                self.config.kafka_port, self.config.kafka_controller_port
            )
            scram = self._secure.format_args()
        self._properties.write_text(properties)
        if (data_dir / "meta.properties").exists():
            return
        cluster_id = _cluster_id()
        formatted = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(self._properties),
                *scram,
            ),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if formatted.returncode != 0:
            raise StackError(
                "Formatting Kafka storage failed:\n"
                + (formatted.stderr or formatted.stdout)[-2000:]
            )

    @property
    def _secure(self) -> SecureKafka | None:
        if not self.config.kafka_security:
            return None
        return SecureKafka(
            self.config.var_dir, self.config.kafka_host, self.config.kafka_principals
        )

    def answers(self) -> bool:
        if self.config.kafka_security:
            # Asked as the stack's admin: a secured broker answers no one who has not signed in.
            admin = Settings(
                var_dir=self.config.var_dir,
                kafka_bootstrap_servers=self.address,
                embedded_stack=True,
                kafka_embedded_security=True,
                kafka_username=None,
            )
            return asyncio.run(kafka_answers(kafka_access(admin), timeout=3.0))
        return asyncio.run(kafka_answers(self.address, timeout=3.0))


class TemporalProcess(ManagedProcess):
    name = "temporal"

    @property
    def _host(self) -> str:
        return self.config.temporal_host

    @property
    def address(self) -> str:
        return self.config.temporal_address

    @property
    def url(self) -> str | None:
        if self.config.temporal_ui_port is None:
            return None
        return f"http://{self.config.temporal_host}:{self.config.temporal_ui_port}"

    def ports(self) -> list[_Port]:
        ports = [_Port("frontend", self.config.temporal_port, "LIFEEVENTS_TEMPORAL_ADDRESS")]
        if self.config.temporal_ui_port is not None:
            ports.append(_Port("UI", self.config.temporal_ui_port, "LIFEEVENTS_TEMPORAL_UI_PORT"))
        return ports

    def command(self) -> list[str]:
        db = self.config.var_dir / "temporal" / "temporal.db"
        command = [
            str(temporal_cli()),
            "server",
            "start-dev",
            "--ip",
            self.config.temporal_host,
            "--port",
            str(self.config.temporal_port),
            "--db-filename",
            str(db),
            "--log-level",
            "warn",
        ]
        if self.config.temporal_namespace != "default":
            command += ["--namespace", self.config.temporal_namespace]
        for declaration in search_attribute_declarations():
            command += ["--search-attribute", declaration]
        if self.config.temporal_ui_port is None:
            command.append("--headless")
        else:
            command += ["--ui-port", str(self.config.temporal_ui_port), "--ui-disable-news-fetch"]
            if self.config.temporal_ui_codec_endpoint is not None:
                command += ["--ui-codec-endpoint", self.config.temporal_ui_codec_endpoint]
        return command

    def prepare(self) -> None:
        try:
            temporal_cli()
        except FileNotFoundError as missing:
            raise StackError(str(missing)) from None
        (self.config.var_dir / "temporal").mkdir(parents=True, exist_ok=True)

    def answers(self) -> bool:
        return asyncio.run(
            temporal_answers(self.address, self.config.temporal_namespace, timeout=3.0)
        )


class Stack:
    """The embedded stack as one thing: up, down, status."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.components: list[ManagedProcess] = [KafkaProcess(config), TemporalProcess(config)]

    def up(self, timeout: float = 120.0) -> dict[str, bool]:
        """Start what is not running. Maps name → started now (False: it was already up).

        Components launch together and are then awaited one by one, all on this thread: the
        Temporal SDK's runtime must not be first used from a worker thread.
        """
        launched: dict[str, bool] = {}
        try:
            for component in self.components:
                launched[component.name] = component.launch()
            for component in self.components:
                if launched[component.name]:
                    component.wait_until_answering(timeout)
        except StackError:
            # Leave nothing half-up that this call started.
            for component in self.components:
                if launched.get(component.name):
                    component.stop()
            raise
        return launched

    def down(self) -> dict[str, bool]:
        return {c.name: c.stop() for c in self.components}

    def status(self) -> list[ComponentStatus]:
        return [c.status() for c in self.components]


# -- prerequisites ---------------------------------------------------------------------------


def check_java() -> str:
    """The path of a Java 17+ runtime, or a StackError saying how to get one."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise StackError(
            f"Kafka needs Java {MIN_JAVA} or newer, and no `java` was found on PATH"
            f"{' or in JAVA_HOME' if java_home else ''}. Install a JDK "
            f"(e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME."
        )
    probe = subprocess.run(
        [java, "-version"], capture_output=True, text=True, check=False, timeout=60
    )
    found = re.search(r'version "(\d+)(?:\.(\d+))?', probe.stderr + probe.stdout)
    if not found:
        raise StackError(f"Could not tell the version of {java}; Kafka needs Java {MIN_JAVA}+.")
    major = int(found[1]) if found[1] != "1" else int(found[2] or 0)
    if major < MIN_JAVA:
        raise StackError(
            f"Kafka needs Java {MIN_JAVA} or newer, but {java} is Java {major}. "
            f"Install a newer JDK or point JAVA_HOME at one."
        )
    return java


def ensure_kafka_jars(lib_dir: Path) -> bool:
    """Resolve Kafka's jars from Maven Central once per pom.xml. True when it fetched."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    stamp = lib_dir / ".pom.sha256"
    if stamp.exists() and stamp.read_text().strip() == digest:
        return False
    check_java()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "Maven is needed once, to fetch the Kafka jars from Maven Central, and `mvn` is not "
            "on PATH. Install Maven (e.g. `apt-get install maven`)."
        )
    partial = lib_dir.with_name(lib_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    resolved = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if resolved.returncode != 0:
        raise StackError("Maven could not resolve the Kafka jars:\n" + resolved.stdout[-2000:])
    shutil.rmtree(lib_dir, ignore_errors=True)
    partial.rename(lib_dir)
    stamp.write_text(digest + "\n")
    return True


def _kafka_principals() -> tuple[str, ...]:
    return tuple(principals(Deployment.from_environment()))


def _cluster_id() -> str:
    """A KRaft cluster ID: 16 random bytes, URL-safe base64. One starting with `-` would be
    read by StorageTool as an option, so those are drawn again."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
