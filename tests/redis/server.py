"""A real ``redis-server`` on a free loopback port, started and stopped by pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import redis

REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answer_ping(proc: subprocess.Popen[bytes], client: redis.Redis, timeout: float, what: str) -> None:
    """Poll ``client`` until the server of ``proc`` answers PING; raise naming ``what`` if it exits or times out."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start") from None
                time.sleep(0.02)  # a poll with a deadline
    finally:
        client.close()


@dataclass(frozen=True)
class TlsFiles:
    """A test CA's certificate, and a certificate and key it signed for 127.0.0.1 (PEM files)."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def make(cls, directory: Path) -> TlsFiles:
        import trustme

        ca = trustme.CA()
        issued = ca.issue_cert("127.0.0.1", "localhost")
        files = cls(directory / "ca.pem", directory / "server.pem", directory / "server.key")
        ca.cert_pem.write_to_path(str(files.ca))
        issued.cert_chain_pems[0].write_to_path(str(files.cert))
        issued.private_key_pem.write_to_path(str(files.key))
        return files

    def server_args(self, port: int) -> list[str]:
        """Serve TLS only, on ``port``; clients need no certificate of their own."""
        args = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(self.cert)]
        return args + [
            "--tls-key-file",
            str(self.key),
            "--tls-ca-cert-file",
            str(self.ca),
            "--tls-auth-clients",
            "no",
        ]

    def client_options(self) -> dict[str, object]:
        return {"ssl": True, "ssl_ca_certs": str(self.ca)}

    @property
    def query(self) -> str:
        """The URL query that makes a client trust the test CA."""
        return f"?ssl_ca_certs={quote(str(self.ca))}"


class RedisServer:
    """One redis-server process; ``restart`` keeps its port, directory and options.

    With ``tls``, it serves TLS only, on ``port``.
    """

    def __init__(
        self,
        directory: Path,
        *extra: str,
        port: int | None = None,
        password: str | None = None,
        tls: TlsFiles | None = None,
    ):
        assert REDIS_SERVER is not None
        self.directory = directory
        self.port = port or free_port()
        self.password = password
        self.tls = tls
        self.extra = list(extra)
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls is not None:
            return f"rediss://{auth}127.0.0.1:{self.port}/0{self.tls.query}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self, **options: object) -> redis.Redis:
        """A client of this server (over TLS when it serves TLS)."""
        tls = self.tls.client_options() if self.tls is not None else {}
        return redis.Redis(port=self.port, password=self.password, **tls, **options)  # type: ignore[arg-type]

    def start(self, timeout: float = 10.0) -> RedisServer:
        listen = ["--port", str(self.port)] if self.tls is None else self.tls.server_args(self.port)
        args = [REDIS_SERVER, *listen, "--bind", "127.0.0.1", "--dir", str(self.directory)]
        args += ["--save", "", "--daemonize", "no", "--logfile", str(self.directory / "redis.log")]
        if "--appendonly" not in self.extra:
            args += ["--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args + self.extra, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        answer_ping(self.proc, self.client(socket_timeout=1), timeout, f"redis-server on port {self.port}")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop by pid (SIGTERM lets it write its append-only file first)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


class SentinelServer:
    """One ``redis-server --sentinel`` process watching ``master`` as ``service``, from a generated config."""

    def __init__(
        self,
        directory: Path,
        service: str,
        master_port: int,
        *,
        quorum: int,
        password: str | None = None,
        master_password: str | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        assert REDIS_SERVER is not None
        self.directory = directory
        self.port = free_port()
        self.password = password
        self.tls = tls
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        if tls is None:
            listen = f"port {self.port}\n"
        else:  # TLS only, to clients and to the servers it watches
            listen = " ".join(tls.server_args(self.port)).replace(" --", "\n").removeprefix("--")
            listen += "\ntls-replication yes\n"
        # Sentinel rewrites its config file (discovered replicas and peers, epochs): one per process.
        (directory / "sentinel.conf").write_text(
            f"{listen}bind 127.0.0.1\ndir {directory}\nlogfile {directory / 'sentinel.log'}\n"
            f"sentinel monitor {service} 127.0.0.1 {master_port} {quorum}\n"
            f"sentinel down-after-milliseconds {service} 1000\n"
            f"sentinel failover-timeout {service} 2000\n"
            f"sentinel parallel-syncs {service} 1\n"
            + (f"requirepass {password}\n" if password else "")
            + (f"sentinel auth-pass {service} {master_password}\n" if master_password else "")
        )

    def start(self, timeout: float = 10.0) -> SentinelServer:
        assert REDIS_SERVER is not None
        args = [REDIS_SERVER, str(self.directory / "sentinel.conf"), "--sentinel"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        answer_ping(self.proc, self.client(), timeout, f"redis sentinel on port {self.port}")
        return self

    def client(self) -> redis.Redis:
        tls = self.tls.client_options() if self.tls is not None else {}
        return redis.Redis(
            port=self.port,
            password=self.password,
            socket_timeout=1,
            decode_responses=True,
            **tls,  # type: ignore[arg-type]
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


class SentinelGroup:
    """A master, its replicas and the Sentinels watching them, on loopback ports; stopped by pid."""

    SERVICE = "nuvom-master"

    def __init__(
        self,
        directory: Path,
        *,
        replicas: int,
        sentinels: int,
        password: str | None = None,
        sentinel_password: str | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        self.password = password
        self.sentinel_password = sentinel_password
        self.tls = tls
        # Diskless syncs start at once (by default they wait 5 s for more replicas to join).
        extra = ["--repl-diskless-sync-delay", "0"] + (["--masterauth", password] if password else [])
        extra += ["--tls-replication", "yes"] if tls is not None else []
        self.master = RedisServer(directory / "master", *extra, password=password, tls=tls).start()
        self.replicas = [
            RedisServer(
                directory / f"replica{i}",
                *extra,
                "--replicaof",
                "127.0.0.1",
                str(self.master.port),
                password=password,
                tls=tls,
            ).start()
            for i in range(replicas)
        ]
        deadline = time.monotonic() + 30
        while not self._replicas_in_sync():  # Sentinels then find the replicas at their first look
            assert time.monotonic() < deadline, "the replicas did not sync with the master"
            time.sleep(0.02)
        quorum = sentinels // 2 + 1
        self.sentinels = [
            SentinelServer(
                directory / f"sentinel{i}",
                self.SERVICE,
                self.master.port,
                quorum=quorum,
                password=sentinel_password,
                master_password=password,
                tls=tls,
            ).start()
            for i in range(sentinels)
        ]

    def url(self, scheme: str = "redis+sentinel") -> str:
        """The URL of the master through the Sentinels, with both passwords where set."""
        auth = f":{self.password}@" if self.password else ""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        options = [f"sentinel_password={self.sentinel_password}"] if self.sentinel_password else []
        options += [self.tls.query.removeprefix("?")] if self.tls is not None else []
        query = "?" + "&".join(options) if options else ""
        return f"{scheme}://{auth}{hosts}/{self.SERVICE}/0{query}"

    def master_port(self) -> int | None:
        """The master's port as the first Sentinel that answers tells clients (``SENTINEL MASTERS``).

        During a failover, that is the old master's until the Sentinel switches to the new one.
        """
        for sentinel in self.sentinels:
            client = sentinel.client()
            try:
                return int(client.sentinel_master(self.SERVICE)["port"])
            except redis.ConnectionError:
                continue
            finally:
                client.close()
        return None

    def _replicas_in_sync(self) -> bool:
        return self.replicas_online(self.master.port) >= len(self.replicas)

    def replicas_online(self, port: int) -> int:
        """How many replicas the server at ``port`` streams to."""
        tls = self.tls.client_options() if self.tls is not None else {}
        server = redis.Redis(port=port, password=self.password, socket_timeout=1, **tls)  # type: ignore[arg-type]
        try:
            info = server.info("replication")
        finally:
            server.close()
        return sum(1 for k, v in info.items() if k.startswith("slave") and v.get("state") == "online")

    def ready(self) -> bool:
        """Every replica is in sync and every Sentinel sees the replicas and the other Sentinels."""
        if not self._replicas_in_sync():
            return False
        for sentinel in self.sentinels:
            client = sentinel.client()
            try:
                state = client.sentinel_master(self.SERVICE)
                replicas = client.sentinel_slaves(self.SERVICE)
            finally:
                client.close()
            if state["num-other-sentinels"] < len(self.sentinels) - 1:
                return False
            # a replica Sentinel may promote: it has answered INFO, is up and linked to the master
            good = [r for r in replicas if r["flags"] == "slave" and r["master-link-status"] == "ok"]
            if len(good) < len(self.replicas):
                return False
        return True

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for server in [self.master, *self.replicas]:
            server.stop(signal.SIGKILL)


def free_cluster_port() -> int:
    """A free port whose cluster bus port (the port + 10000) is free too."""
    while True:
        port = free_port()
        if port + 10_000 < 65_536:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + 10_000))
                except OSError:
                    continue
            return port


class RedisCluster:
    """Masters of one Redis Cluster on loopback ports (no replicas), each stopped by pid."""

    def __init__(
        self,
        directory: Path,
        *,
        masters: int = 3,
        password: str | None = None,
        appendonly: bool = False,
        tls: TlsFiles | None = None,
    ) -> None:
        self.password = password
        self.tls = tls
        auth = ["--masterauth", password] if password else []
        tls_bus = ["--tls-cluster", "yes"] if tls is not None else []
        durable = ["--appendonly", "yes", "--appendfsync", "everysec"] if appendonly else []
        self.nodes: list[RedisServer] = []
        try:
            for i in range(masters):
                node = RedisServer(
                    directory / f"node{i}",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(directory / f"node{i}" / "nodes.conf"),
                    "--cluster-node-timeout",
                    "2000",
                    *auth,
                    *durable,
                    *tls_bus,
                    port=free_cluster_port(),
                    password=password,
                    tls=tls,
                )
                self.nodes.append(node)
                node.start()
            self._create()
        except BaseException:
            self.stop()  # the nodes started so far
            raise

    def _create(self) -> None:
        redis_cli = shutil.which("redis-cli")
        assert redis_cli is not None
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        login = ["-a", self.password, "--no-auth-warning"] if self.password else []
        tls = ["--tls", "--cacert", str(self.tls.ca)] if self.tls is not None else []
        subprocess.run(
            [
                redis_cli,
                *login,
                *tls,
                "--cluster",
                "create",
                *addresses,
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        while not all(self._ok(node) for node in self.nodes):
            assert time.monotonic() < deadline, "the cluster did not reach state ok"
            time.sleep(0.05)

    def _ok(self, node: RedisServer) -> bool:
        client = node.client(socket_timeout=1, decode_responses=True)
        try:
            return bool(client.cluster("info")["cluster_state"] == "ok")
        finally:
            client.close()

    def url(self, scheme: str = "redis+cluster") -> str:
        """The URL of the cluster, naming every node."""
        auth = f":{self.password}@" if self.password else ""
        query = self.tls.query if self.tls is not None else ""
        nodes = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        return f"{scheme}://{auth}{nodes}{query}"

    def master_of(self, key: str) -> int:
        """The port of the master serving ``key``'s slot."""
        tls = self.tls.client_options() if self.tls is not None else {}
        client = redis.RedisCluster(
            host="127.0.0.1",
            port=self.nodes[0].port,
            password=self.password,
            **tls,  # type: ignore[arg-type]
        )
        try:
            return int(client.get_node_from_key(key).port)
        finally:
            client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop(signal.SIGKILL)
