"""A Kafka cluster of several KRaft nodes on this machine, for tests that kill brokers.

Each node is the stack's own `KafkaProcess` (same jars, JVM flags, pid-file ownership and log
layout) with a var folder of its own; only its server.properties differ: every node is broker
and controller, and the controllers form one static quorum, so killing a node may also kill
the active controller. The single-node stack in deploy/local/stack.py is left as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

# The stack's own rule for a valid KRaft cluster id (one StorageTool will not misread).
from deploy.local.stack import KafkaProcess, StackConfig, StackError, _cluster_id

__all__ = ["ClusterNode", "KafkaCluster", "PartitionState"]

# Written per node; every node is broker and controller. Replication 3 and min ISR 2 are the
# production settings the reliability suite is about (DESIGN.md: acks=all, idempotence).
_PROPERTIES = """\
process.roles=broker,controller
node.id={node_id}
controller.quorum.voters={voters}
listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}
advertised.listeners=PLAINTEXT://{host}:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data_dir}
num.partitions=3
default.replication.factor={replicas}
min.insync.replicas={min_insync}
offsets.topic.replication.factor={replicas}
transaction.state.log.replication.factor={replicas}
transaction.state.log.min.isr={min_insync}
share.coordinator.state.topic.replication.factor={replicas}
share.coordinator.state.topic.min.isr={min_insync}
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
# A killed broker is fenced (its partitions get new leaders) after the session timeout; the
# default 9 s would only make each failover, and so the test, longer.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000
"""

# KafkaRaftClient logs each change of role; the highest epoch's leader is the active controller.
_RAFT_LEADER = re.compile(
    r"\[RaftManager id=(\d+)\] Completed transition to Leader\(.*?epoch=(\d+)"
)

# Run in a session of its own beside the test: when the test's process dies without its
# teardown (`timeout -s KILL`), it kills the nodes, which run in sessions of their own and
# would otherwise outlive it. A pid is killed only if its command line names the cluster's
# folder, so a pid reused by another process is left alone.
_WATCHDOG = """
import os, sys, time, pathlib, signal
parent, root = int(sys.argv[1]), sys.argv[2]
while os.path.exists(f"/proc/{parent}"):
    time.sleep(1)
for pid_file in pathlib.Path(root).glob("node-*/run/kafka.pid"):
    try:
        pid = int(pid_file.read_text())
        if root in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass
"""


@dataclass(frozen=True)
class PartitionState:
    partition: int
    leader: int  # -1 while the partition has none
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


class ClusterNode(KafkaProcess):
    """One node of the cluster: the stack's Kafka process with a multi-voter configuration."""

    def __init__(
        self,
        config: StackConfig,
        *,
        node_id: int,
        cluster_id: str,
        voters: str,
        replicas: int,
        min_insync: int,
    ) -> None:
        super().__init__(config)
        self.node_id = node_id
        self.cluster_id = cluster_id
        self.voters = voters
        self.replicas = replicas
        self.min_insync = min_insync

    def prepare(self) -> None:
        data_dir = self._home / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._properties.write_text(
            _PROPERTIES.format(
                node_id=self.node_id,
                voters=self.voters,
                host=self.config.kafka_host,
                port=self.config.kafka_port,
                controller_port=self.config.kafka_controller_port,
                data_dir=data_dir,
                replicas=self.replicas,
                min_insync=self.min_insync,
            )
        )
        if (data_dir / "meta.properties").exists():
            return  # a restart: the storage is formatted and holds the node's data
        # A static quorum (controller.quorum.voters) is formatted without --standalone.
        formatted = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                self.cluster_id,
                "-c",
                str(self._properties),
            ),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if formatted.returncode != 0:
            raise StackError(f"formatting node {self.node_id} failed:\n{formatted.stdout[-2000:]}")

    @property
    def server_log(self) -> Path:
        return self._home / "logs" / "server.log"

    def kill(self) -> int:
        """SIGKILL the broker's JVM (no shutdown hook, no controlled shutdown); its pid."""
        pid = self.pid()
        if pid is None:
            raise StackError(f"node {self.node_id} is not running")
        os.kill(pid, signal.SIGKILL)
        if self._child is not None and self._child.pid == pid:
            self._child.wait(timeout=30)  # reap it, so the pid is not a zombie that seems alive
        return pid

    @property
    def running(self) -> bool:
        return self.pid() is not None


class KafkaCluster:
    """`size` KRaft nodes (broker + controller each) on free ports under `root`."""

    def __init__(
        self,
        root: Path,
        kafka_lib: Path,
        free_port: Callable[[], int],
        *,
        size: int = 3,
        min_insync: int = 2,
        heap: str = "384m",
    ) -> None:
        configs = [
            StackConfig(
                var_dir=(root / f"node-{n}").resolve(),
                kafka_lib_dir=kafka_lib,
                kafka_port=free_port(),
                kafka_controller_port=free_port(),
                kafka_heap=heap,
            )
            for n in range(1, size + 1)
        ]
        voters = ",".join(
            f"{n}@{c.kafka_host}:{c.kafka_controller_port}" for n, c in enumerate(configs, 1)
        )
        cluster_id = _cluster_id()
        self.root = root.resolve()
        self._watchdog: subprocess.Popen[bytes] | None = None
        self.nodes = {
            n: ClusterNode(
                c,
                node_id=n,
                cluster_id=cluster_id,
                voters=voters,
                replicas=size,
                min_insync=min_insync,
            )
            for n, c in enumerate(configs, 1)
        }

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.address for node in self.nodes.values())

    def _live_bootstrap(self) -> str:
        live = [node.address for node in self.nodes.values() if node.running]
        return ",".join(live) or self.bootstrap_servers

    # -- processes (blocking: call from a thread inside async tests) ---------------------

    def start(self, timeout: float = 180.0) -> None:
        """Launch every node that is down, then wait for each (a quorum needs them together)."""
        if self._watchdog is None:
            self._watchdog = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.root)],
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        launched = [node for node in self.nodes.values() if node.launch()]
        for node in launched:
            node.wait_until_answering(timeout)

    def restart(self, node_id: int, timeout: float = 180.0) -> None:
        node = self.nodes[node_id]
        if node.launch():
            node.wait_until_answering(timeout)

    def stop(self) -> None:
        """Stop every node, whatever state it is in; never raises, so teardown always ends."""
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.stop(timeout=15)
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None

    def active_controller(self) -> int | None:
        """The node the latest Raft leader election chose, from the nodes' own logs."""
        best: tuple[int, int] | None = None  # (epoch, node)
        for node in self.nodes.values():
            with contextlib.suppress(OSError):
                for found in _RAFT_LEADER.finditer(node.server_log.read_text(errors="replace")):
                    candidate = (int(found[2]), int(found[1]))
                    if best is None or candidate > best:
                        best = candidate
        return None if best is None else best[1]

    # -- metadata ----------------------------------------------------------------------

    async def partitions(self, topic: str) -> list[PartitionState]:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._live_bootstrap(), request_timeout_ms=5000
        )
        try:
            await asyncio.wait_for(admin.start(), 10)
            [described] = await asyncio.wait_for(admin.describe_topics([topic]), 10)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        return sorted(
            (
                PartitionState(
                    partition=p["partition"],
                    leader=p["leader"],
                    replicas=tuple(sorted(p["replicas"])),
                    isr=tuple(sorted(p["isr"])),
                )
                for p in described["partitions"]
            ),
            key=lambda p: p.partition,
        )

    async def topic_config(self, topic: str, names: Iterable[str]) -> dict[str, str]:
        wanted = set(names)
        admin = AIOKafkaAdminClient(bootstrap_servers=self._live_bootstrap())
        try:
            await asyncio.wait_for(admin.start(), 10)
            [response] = await asyncio.wait_for(
                admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)]), 10
            )
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        # DescribeConfigs v1+: resources → (error, message, type, name, [(name, value, …)]).
        [resource] = response.resources
        return {entry[0]: entry[1] for entry in resource[4] if entry[0] in wanted}

    async def wait_for(
        self,
        topic: str,
        condition: Callable[[list[PartitionState]], bool],
        what: str,
        timeout: float = 120.0,
    ) -> list[PartitionState]:
        """Poll the topic's partitions until `condition` holds; raise naming `what` if not."""
        deadline = time.monotonic() + timeout
        last: list[PartitionState] | str = "no answer"
        while time.monotonic() < deadline:
            try:
                state = await self.partitions(topic)
            except Exception as error:  # a cluster in failover may not answer yet
                last = type(error).__name__
            else:
                if state and condition(state):
                    return state
                last = state
            await asyncio.sleep(0.5)
        raise AssertionError(f"{topic}: {what} did not happen within {timeout:.0f} s; last: {last}")

    async def wait_all_in_sync(self, topic: str, timeout: float = 120.0) -> list[PartitionState]:
        size = len(self.nodes)
        return await self.wait_for(
            topic,
            lambda state: all(len(p.isr) == size and p.leader >= 0 for p in state),
            f"every partition with all {size} replicas in sync",
            timeout,
        )
