"""The container engine behind one interface: docker when its daemon answers, else podman (with
buildah to build) or buildah alone.

Everything that differs between the two lives here; base, build and check call an `Engine`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from tabship_dev.images.settings import DEFAULT_PATH, SERVING_PORT, ImageError, log, output, run

# Mount is (host folder, container folder), mounted read-only.
Mount = tuple[Path, str]


class Engine(Protocol):
    """What the image tooling needs from a container engine."""

    name: str
    env: dict[str, str]

    def exists(self, image: str) -> bool:
        """Whether the local store holds IMAGE."""

    def size(self, image: str) -> int:
        """IMAGE's uncompressed size in bytes."""

    def import_rootfs(self, rootfs: Path, image: str, description: str) -> None:
        """Import the folder ROOTFS as IMAGE."""

    def build_command(
        self, dockerfile: Path, context: Path, args: list[str], local_base: bool
    ) -> list[str]:
        """The build command; ARGS are the common flags (file, build args, tag, cache)."""

    def config(self, image: str) -> dict[str, Any]:
        """IMAGE's runtime config with docker's keys: Entrypoint, Cmd, User, Env, Healthcheck."""

    def started(
        self, image: str, command: list[str], port: int
    ) -> contextlib.AbstractContextManager[subprocess.Popen[str]]:
        """IMAGE's COMMAND running with the service on 127.0.0.1:PORT; stopped on exit."""

    def run_once(self, image: str, command: list[str], mount: Mount | None = None) -> str:
        """Run COMMAND in a new container of IMAGE (as the image's user); its output."""

    def runs_healthcheck(self) -> bool:
        """Whether the engine runs the image's HEALTHCHECK itself."""


class Docker:
    """A Docker daemon, through its CLI."""

    name = "docker"

    def __init__(self) -> None:
        # BuildKit for RUN --mount.
        self.env = {**os.environ, "DOCKER_BUILDKIT": "1"}

    def exists(self, image: str) -> bool:
        done = subprocess.run(
            ["docker", "image", "inspect", image], capture_output=True, check=False
        )
        return done.returncode == 0

    def size(self, image: str) -> int:
        return int(output(["docker", "image", "inspect", "--format", "{{.Size}}", image]))

    def import_rootfs(self, rootfs: Path, image: str, description: str) -> None:
        log(f"$ tar -C {rootfs} -c . | docker import - {image}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "--change", f"ENV PATH={DEFAULT_PATH}",
                        "--change", "ENV LANG=C.UTF-8", "--change", 'CMD ["/bin/bash"]',
                        "--message", description, "-", image],
                       stdin=tar.stdout, check=True)  # fmt: skip
        if tar.wait() != 0:
            raise ImageError(f"tar of {rootfs} failed")

    def build_command(
        self, dockerfile: Path, context: Path, args: list[str], local_base: bool
    ) -> list[str]:
        return ["docker", "build", "--file", str(dockerfile), *args, str(context)]

    def config(self, image: str) -> dict[str, Any]:
        config: dict[str, Any] = json.loads(output(["docker", "image", "inspect", image]))[0][
            "Config"
        ]
        return config

    @contextlib.contextmanager
    def started(self, image: str, command: list[str], port: int) -> Iterator[subprocess.Popen[str]]:
        # Docker runs the image's own command; PORT is published to the image's port.
        container = output(["docker", "run", "--detach", "--rm", "--publish",
                            f"127.0.0.1:{port}:{SERVING_PORT}", image])  # fmt: skip
        process = subprocess.Popen(["docker", "logs", "--follow", container], text=True)
        try:
            yield process
        finally:
            subprocess.run(["docker", "stop", container], capture_output=True, check=False)
            process.wait(timeout=30)

    def run_once(self, image: str, command: list[str], mount: Mount | None = None) -> str:
        volume = ["--volume", f"{mount[0]}:{mount[1]}:ro"] if mount else []
        return output(["docker", "run", "--rm", *volume, image, *command])

    def runs_healthcheck(self) -> bool:
        return True


class Buildah:
    """buildah with chroot isolation: it needs no daemon and no user namespaces."""

    name = "buildah"

    def __init__(self) -> None:
        self.env = {**os.environ, "BUILDAH_ISOLATION": "chroot"}

    def exists(self, image: str) -> bool:
        command = ["buildah", "inspect", "--type", "image", image]
        return (
            subprocess.run(command, capture_output=True, check=False, env=self.env).returncode == 0
        )

    def size(self, image: str) -> int:
        # buildah reports it only rounded, in SI units: "138 MB".
        listing = json.loads(output(["buildah", "images", "--json", image], env=self.env))
        number, unit = str(listing[0]["size"]).split()
        scale = {"B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
        return int(float(number) * scale[unit])

    def import_rootfs(self, rootfs: Path, image: str, description: str) -> None:
        container = output(["buildah", "from", "scratch"], env=self.env)
        try:
            mount = output(["buildah", "mount", container], env=self.env)
            run(["cp", "-a", f"{rootfs}/.", mount])
            run(["buildah", "config", "--env", f"PATH={DEFAULT_PATH}", "--env", "LANG=C.UTF-8",
                 "--cmd", "/bin/bash", "--label", f"org.opencontainers.image.description={description}",
                 container], env=self.env)  # fmt: skip
            run(
                ["buildah", "commit", "--quiet", "--format", "docker", container, image],
                env=self.env,
            )
        finally:
            self._remove(container)

    def build_command(
        self, dockerfile: Path, context: Path, args: list[str], local_base: bool
    ) -> list[str]:
        # --format docker keeps HEALTHCHECK (the OCI format has none); --layers caches steps.
        return ["buildah", "bud", "--isolation", "chroot", "--format", "docker", "--layers",
                "--pull-never" if local_base else "--pull", "--file", str(dockerfile), *args,
                str(context)]  # fmt: skip

    def config(self, image: str) -> dict[str, Any]:
        info = json.loads(output(["buildah", "inspect", "--type", "image", image], env=self.env))
        raw: dict[str, Any] = info["Docker"]["config"]
        return {key[0].upper() + key[1:]: value for key, value in raw.items()}

    @contextlib.contextmanager
    def started(self, image: str, command: list[str], port: int) -> Iterator[subprocess.Popen[str]]:
        container = output(["buildah", "from", "--pull-never", image], env=self.env)
        # chroot isolation shares the host's network, so the service listens on the host's loopback.
        # A PID namespace of its own: BentoML's workers start new sessions, which a process-group
        # kill misses; when the namespace's first process dies, the kernel ends every process in it.
        argv = ["unshare", "--pid", "--fork", "--kill-child"]
        argv += ["buildah", "run", "--isolation", "chroot", container, "--", *command]
        log("$ " + " ".join(argv))
        process = subprocess.Popen(argv, env=self.env, text=True, start_new_session=True)
        try:
            yield process
        finally:
            # Stop what we started, by its process group id (buildah run and the server under it).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            self._remove(container)

    def run_once(self, image: str, command: list[str], mount: Mount | None = None) -> str:
        volume = ["--volume", f"{mount[0]}:{mount[1]}:ro"] if mount else []
        container = output(["buildah", "from", "--pull-never", image], env=self.env)
        try:
            argv = ["buildah", "run", "--isolation", "chroot", *volume, container, "--", *command]
            return output(argv, env=self.env)
        finally:
            self._remove(container)

    def runs_healthcheck(self) -> bool:
        return False

    def _remove(self, container: str) -> None:
        subprocess.run(["buildah", "rm", container], env=self.env, capture_output=True, check=False)


def podman() -> list[str]:
    """podman, with runc as its runtime when installed: crun 1.8 cannot run a container where
    cgroups are in hybrid mode (measured here: "cgroups in hybrid mode not supported")."""
    return ["podman", *(["--runtime", "runc"] if shutil.which("runc") else [])]


# Explicit limits: without CAP_SYS_RESOURCE (unprivileged sandboxes, this one) podman cannot
# raise a container's limits to the host's, and refuses to start it.
ULIMITS = ("--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096")
# Where the serving image writes when nothing else is mounted: tmpfs, the state folder owned by the
# container's user (`:U`; a plain tmpfs there is root's 0755, and the prediction log could not be
# written: every /predict answered 500).
WRITABLE = ("--tmpfs=/tmp", "--tmpfs=/var/lib/tabship:U")
# podman starts healthcheck timers through systemd and says so when none runs; the check itself
# works (`podman healthcheck run`), so these lines are noise.
SYSTEMD_NOISE = "unable to get systemd connection"


def whole(image: str, command: list[str]) -> list[str]:
    """IMAGE and COMMAND for `podman run`, COMMAND being the whole argv as with `buildah run`:
    podman would put the image's ENTRYPOINT in front of it (`tabship-serving tabship-serving
    serve` exits 2 at once), so COMMAND's first word replaces the ENTRYPOINT."""
    return ["--entrypoint", command[0], image, *command[1:]]


class Podman(Buildah):
    """podman runs the containers (the image's HEALTHCHECK included); buildah builds, and podman
    reads the same image store. Host networking: the default bridge would add iptables chains."""

    name = "podman"

    def __init__(self) -> None:
        super().__init__()
        self.running: str | None = None  # the container `started` runs
        self.output: Path | None = None  # its output (stdout and stderr), for errors

    @contextlib.contextmanager
    def started(
        self, image: str, command: list[str], port: int, flags: Sequence[str] = ()
    ) -> Iterator[subprocess.Popen[str]]:
        """IMAGE's COMMAND in the foreground (the process ends when the container does, with its
        exit code). FLAGS replace the defaults: a read-only root with tmpfs where it writes."""
        name = f"tabship-{secrets.token_hex(6)}"
        chosen = list(flags) or ["--read-only", *WRITABLE]
        argv = [*podman(), "run", "--rm", "--name", name, "--network", "host", *ULIMITS,
                "--env", f"TABSHIP_PORT={port}", *chosen, *whole(image, command)]  # fmt: skip
        log("$ " + " ".join(argv))
        with tempfile.NamedTemporaryFile(
            "w+", prefix="podman-", suffix=".log", delete=False
        ) as out:
            self.output = Path(out.name)
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True)
        self.running = name
        try:
            yield process
        finally:
            # podman stop: SIGTERM, then SIGKILL after the container's --stop-timeout.
            subprocess.run([*podman(), "stop", name], capture_output=True, check=False)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            self.running = None

    def tail(self, lines: int = 30) -> str:
        """The last LINES of the running (or last) container's output, without podman's noise."""
        if self.output is None or not self.output.exists():
            return ""
        text = self.output.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join([line for line in text if SYSTEMD_NOISE not in line][-lines:])

    def run_once(
        self, image: str, command: list[str], mount: Mount | None = None, flags: Sequence[str] = ()
    ) -> str:
        volume = ["--volume", f"{mount[0]}:{mount[1]}:ro"] if mount else []
        argv = [*podman(), "run", "--rm", "--network", "host", *ULIMITS, *volume, *flags,
                *whole(image, command)]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            noise = [line for line in done.stderr.splitlines() if SYSTEMD_NOISE not in line]
            raise ImageError(f"{image} {' '.join(command)}: exit {done.returncode}: "
                             + " | ".join(noise[-5:]))  # fmt: skip
        return done.stdout.strip()

    def runs_healthcheck(self) -> bool:
        return True

    def healthcheck(self) -> str:
        """Run the image's HEALTHCHECK in the running container (`podman healthcheck run`)."""
        if self.running is None:
            raise ImageError("no container is running")
        done = subprocess.run([*podman(), "healthcheck", "run", self.running],
                              capture_output=True, text=True, check=False)  # fmt: skip
        if done.returncode != 0:
            raise ImageError(f"HEALTHCHECK of {self.running}: {done.stdout.strip()} "
                             f"{done.stderr.strip()[-300:]}")  # fmt: skip
        return "passed"


def docker_answers() -> bool:
    """Whether a Docker daemon answers `docker info`."""
    if not shutil.which("docker"):
        return False
    try:
        done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, timeout=15, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def choose_engine(wanted: str) -> Engine:
    """Docker when asked for, or when `auto` and its daemon answers; else podman to run (with
    buildah to build) when installed, else buildah alone."""
    if wanted == "docker" or (wanted == "auto" and docker_answers()):
        return Docker()
    if not shutil.which("buildah"):
        raise ImageError("no Docker daemon answers and buildah is missing: apt-get install buildah")
    if wanted == "podman" or (wanted == "auto" and shutil.which("podman")):
        if not shutil.which("podman"):
            raise ImageError("podman is missing: apt-get install podman")
        return Podman()
    return Buildah()
