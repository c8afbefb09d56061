"""Local MongoDB-wire-compatible server for tests and the local stack (stdlib only).

The server is mongo-java-server (Maven Central, de.bwaldvogel:mongo-java-server) driven by the
small launcher in deploy/local/mongo/: Main.java, and UniqueKeyPlanner.java, which plans a query
that pins a unique index's keys among other conditions by that index, as MongoDB does.
docs/local-infrastructure.md says why it was chosen and which operations it does not support (no multi-document transactions, no change
streams, partialFilterExpression ignored, no pipeline-style updates).

    python deploy/local/mongo.py install            # fetch jars with Maven, compile the launcher
    python deploy/local/mongo.py start [--persistent]
    python deploy/local/mongo.py status
    python deploy/local/mongo.py stop

Everything lives under <root>/mongo (default root: <repo>/.local): lib/ and classes/ (install),
mongo.log, mongo.pid, and data/mongo.mv when persistent.  By default the data is in memory and
gone at stop; persistent=True (or QUORUM_MONGO_PERSISTENT=1, or --persistent) keeps it in an H2
MVStore file that survives restarts.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SRC = HERE / "mongo"  # pom.xml + the launcher's *.java
MAIN_CLASS = "Main"
JVM_FLAGS = [
    "-Xms32m",
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Dorg.slf4j.simpleLogger.showDateTime=true",
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS",
    # one line per client connect/disconnect is noise at INFO
    "-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoWireProtocolHandler=warn",
]
MARKER = "quorum-local-mongo"  # passed as a system property so our process is recognisable


def _say(msg: str) -> None:
    print(f"[mongo] {msg}", file=sys.stderr, flush=True)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


# -- minimal BSON / OP_MSG, enough for a `ping` -------------------------------------------------


def _bson_ping() -> bytes:
    def cstr(s: str) -> bytes:
        return s.encode() + b"\x00"

    body = b"\x10" + cstr("ping") + struct.pack("<i", 1)
    db = b"admin"
    body += b"\x02" + cstr("$db") + struct.pack("<i", len(db) + 1) + db + b"\x00"
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _bson_ok(doc: bytes) -> bool:
    """True if the top-level field `ok` of a BSON document is 1."""
    fixed = {1: 8, 7: 12, 8: 1, 9: 8, 16: 4, 17: 8, 18: 8, 19: 16, 6: 0, 10: 0, 127: 0, 255: 0}
    i, end = 4, len(doc) - 1
    while i < end:
        t = doc[i]
        j = doc.index(b"\x00", i + 1)
        name = doc[i + 1 : j].decode(errors="replace")
        i = j + 1
        if name == "ok":
            if t == 1:
                return bool(struct.unpack_from("<d", doc, i)[0] == 1.0)
            if t == 16:
                return bool(struct.unpack_from("<i", doc, i)[0] == 1)
            if t == 18:
                return bool(struct.unpack_from("<q", doc, i)[0] == 1)
            if t == 8:
                return doc[i] == 1
            return False
        if t in fixed:
            i += fixed[t]
        elif t in (2, 13, 14):  # string, code, symbol
            i += 4 + struct.unpack_from("<i", doc, i)[0]
        elif t in (3, 4, 15):  # document, array, code_w_scope
            i += struct.unpack_from("<i", doc, i)[0]
        elif t == 5:  # binary
            i += 5 + struct.unpack_from("<i", doc, i)[0]
        elif t == 11:  # regex: two cstrings
            i = doc.index(b"\x00", doc.index(b"\x00", i) + 1) + 1
        elif t == 12:  # dbpointer
            i += 4 + struct.unpack_from("<i", doc, i)[0] + 12
        else:
            return False
    return False


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """Send an OP_MSG `{ping: 1}` to admin and report whether the reply says ok: 1.

    (`ping` rather than `hello`: mongo-java-server only knows the legacy `isMaster`.)
    """
    payload = struct.pack("<I", 0) + b"\x00" + _bson_ping()
    msg = struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(msg)
            length, _req, _resp, opcode = struct.unpack("<iiii", _recv_exact(s, 16))
            if opcode != 2013 or not 21 <= length <= 48 * 1024 * 1024:
                return False
            body = _recv_exact(s, length - 16)
    except (OSError, ConnectionError, struct.error):
        return False
    if body[4] != 0:  # first section must be kind 0 (the body document)
        return False
    try:
        return _bson_ok(body[5:])
    except (ValueError, IndexError, struct.error):
        return False


# -- the server -----------------------------------------------------------------------------------


class LocalMongo:
    """mongo-java-server under <root>/mongo, reachable at mongodb://host:port/."""

    name = "mongo"

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int = 27018,
        *,
        persistent: bool | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.host = host
        self.port = port
        if persistent is None:
            persistent = _truthy(os.environ.get("QUORUM_MONGO_PERSISTENT"))
        self.persistent = persistent
        self.home = self.root / "mongo"
        self.lib = self.home / "lib"
        self.classes = self.home / "classes"
        self.data = self.home / "data"
        self.log = self.home / "mongo.log"
        self.pidfile = self.home / "mongo.pid"
        self.stamp = self.home / ".installed"

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/"

    # -- install ----------------------------------------------------------------------------------

    def _fingerprint(self) -> str:
        h = hashlib.sha256()
        for f in ["pom.xml", *self._sources()]:
            h.update((SRC / f).read_bytes())
        return h.hexdigest()

    @staticmethod
    def _sources() -> list[str]:
        return sorted(p.name for p in SRC.glob("*.java"))

    def _installed(self) -> bool:
        return (
            self.stamp.is_file()
            and self.stamp.read_text().strip() == self._fingerprint()
            and (self.classes / f"{MAIN_CLASS}.class").is_file()
            and any(self.lib.glob("mongo-java-server-core-*.jar"))
        )

    @staticmethod
    def _need(tool: str, what: str) -> str:
        path = shutil.which(tool)
        if path is None:
            raise RuntimeError(
                f"{tool} not found on PATH: the local MongoDB-compatible server needs {what}. "
                "Install a JDK 17+ and Maven, e.g. `apt-get install -y openjdk-17-jdk-headless "
                "maven`, then run `python deploy/local/mongo.py install` again."
            )
        return path

    def install(self) -> None:
        """Fetch mongo-java-server's jars with Maven and compile the launcher (idempotent)."""
        if self._installed():
            _say(f"already installed in {self.home}")
            return
        java = self._need("java", "a Java 17+ runtime")
        javac = self._need("javac", "a Java 17+ compiler (a JDK, not just a JRE)")
        mvn = self._need("mvn", "Maven to fetch the jars from Maven Central")
        self.home.mkdir(parents=True, exist_ok=True)
        _say(f"using {java}")
        _say(
            "fetching mongo-java-server jars from Maven Central (mvn dependency:copy-dependencies)"
        )
        shutil.rmtree(self.lib, ignore_errors=True)
        self._run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(SRC / "pom.xml"),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.lib}",
                "-DincludeScope=runtime",
            ],
            "Maven could not fetch the jars (is Maven Central reachable?)",
        )
        _say("compiling the launcher (deploy/local/mongo/*.java)")
        shutil.rmtree(self.classes, ignore_errors=True)
        self.classes.mkdir(parents=True)
        self._run(
            [
                javac,
                "-nowarn",
                "-d",
                str(self.classes),
                "-cp",
                str(self.lib / "*"),
                *(str(SRC / f) for f in self._sources()),
            ],
            "javac failed on deploy/local/mongo/*.java",
        )
        self.stamp.write_text(self._fingerprint() + "\n")
        _say(f"installed in {self.home}")

    @staticmethod
    def _run(cmd: list[str], what: str) -> None:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
            raise RuntimeError(f"{what}; `{' '.join(cmd)}` exited {proc.returncode}:\n{tail}")

    # -- process state ----------------------------------------------------------------------------

    def _read_pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @staticmethod
    def _alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # a zombie child of ours is not alive
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return False
        except (OSError, IndexError):
            pass
        return True

    @staticmethod
    def _is_ours(pid: int) -> bool:
        """Guards against a recycled PID: the process must carry our marker (Linux /proc)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return True  # no /proc: trust the pidfile
        return MARKER.encode() in cmdline

    def pid(self) -> int | None:
        """PID from the pidfile if that process is alive and is our server."""
        pid = self._read_pid()
        if pid is not None and self._alive(pid) and self._is_ours(pid):
            return pid
        return None

    def running(self) -> bool:
        return self.pid() is not None and ping(self.host, self.port)

    # -- start / stop -----------------------------------------------------------------------------

    def _log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])

    def start(self, timeout: float = 60) -> bool:
        """Start the server detached; False if ours is already running and answering."""
        if self.running():
            return False
        pid = self.pid()
        if pid is not None:  # ours, alive, but not answering: wait a little, it may be starting
            deadline = time.monotonic() + min(timeout, 15)
            while time.monotonic() < deadline:
                if ping(self.host, self.port):
                    return False
                time.sleep(0.2)
            raise RuntimeError(
                f"mongo (pid {pid}) is running but does not answer on {self.host}:{self.port}; "
                f"stop it with `python deploy/local/mongo.py stop`. Log tail:\n{self._log_tail()}"
            )
        self.pidfile.unlink(missing_ok=True)
        if ping(self.host, self.port, timeout=0.5):
            raise RuntimeError(
                f"something else already answers on {self.host}:{self.port} (not started by "
                f"{self.pidfile}); stop it or choose another port"
            )
        if not self._installed():
            self.install()
        java = self._need("java", "a Java 17+ runtime")
        cmd = [
            java,
            *JVM_FLAGS,
            # in memory, the heap holds the data: QUORUM_MONGO_HEAP for big runs (benchmarks)
            f"-Xmx{os.environ.get('QUORUM_MONGO_HEAP', '1g')}",
            f"-D{MARKER}={self.home}",
            "-cp",
            os.pathsep.join([str(self.classes), str(self.lib / "*")]),
            MAIN_CLASS,
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        if self.persistent:
            self.data.mkdir(parents=True, exist_ok=True)
            cmd += ["--data", str(self.data / "mongo.mv")]
        self.home.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with open(self.log, "ab") as log:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            log.write(f"--- {stamp} starting: {' '.join(cmd)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                start_new_session=True,
                close_fds=True,
            )
        self.pidfile.write_text(f"{proc.pid}\n")
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.pidfile.unlink(missing_ok=True)
                raise RuntimeError(
                    f"mongo exited with code {proc.returncode} during start-up. "
                    f"Log tail ({self.log}):\n{self._log_tail()}"
                )
            if ping(self.host, self.port):
                mode = f"persistent, data in {self.data}" if self.persistent else "in memory"
                _say(
                    f"started pid {proc.pid} at {self.uri} ({mode}) "
                    f"in {time.monotonic() - t0:.1f}s; log {self.log}"
                )
                return True
            time.sleep(0.1)
        self._terminate(proc.pid, 10)
        self.pidfile.unlink(missing_ok=True)
        raise RuntimeError(
            f"mongo did not answer on {self.host}:{self.port} within {timeout:.0f}s. "
            f"Log tail ({self.log}):\n{self._log_tail()}"
        )

    def _terminate(self, pid: int, timeout: float) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._reap(pid)
            if not self._alive(pid):
                return
            time.sleep(0.1)
        _say(f"pid {pid} ignored SIGTERM for {timeout:.0f}s; sending SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self._alive(pid):
            self._reap(pid)
            time.sleep(0.05)

    @staticmethod
    def _reap(pid: int) -> None:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)

    def stop(self, timeout: float = 30) -> None:
        """Stop the server by the PID in the pidfile: SIGTERM, then SIGKILL after timeout."""
        pid = self.pid()
        if pid is None:
            if self.pidfile.exists():
                _say("stale pidfile removed (process already gone)")
            self.pidfile.unlink(missing_ok=True)
            return
        self._terminate(pid, timeout)
        self.pidfile.unlink(missing_ok=True)
        _say(f"stopped pid {pid}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Local MongoDB-compatible server (mongo-java-server).")
    ap.add_argument("command", choices=["install", "start", "stop", "status"])
    ap.add_argument("--root", type=Path, default=REPO / ".local", help="default: <repo>/.local")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=27018)
    ap.add_argument(
        "--persistent",
        action="store_true",
        default=None,
        help="keep data in <root>/mongo/data (H2 file) across restarts",
    )
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args(argv)
    m = LocalMongo(args.root, args.host, args.port, persistent=args.persistent)
    try:
        if args.command == "install":
            m.install()
        elif args.command == "start":
            if not m.start(timeout=args.timeout):
                _say(f"already running (pid {m.pid()}) at {m.uri}")
            print(m.uri)
        elif args.command == "stop":
            m.stop(timeout=args.timeout)
        else:
            if m.running():
                print(f"running pid {m.pid()} {m.uri}")
            else:
                print("stopped")
                return 3
    except RuntimeError as exc:
        _say(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
