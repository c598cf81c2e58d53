"""Container images for tabship: a wheelhouse, a local base image, builds and a smoke check.

    python docker/image.py wheelhouse                  dist/wheelhouse/ from uv.lock (+ bootstrap tools)
    python docker/image.py base [--force]              localhost/tabship-base:bookworm (debootstrap)
    python docker/image.py build [--target T] [--base-image NAME] [--tool auto|docker|buildah]
    python docker/image.py check [--target T] [--port N]  start the image; /readyz and one prediction

Every Dockerfile installs Python packages only from dist/wheelhouse/ (`pip install --no-index`), so a
build needs no index once the wheelhouse exists. `build` uses `docker build` when a Docker daemon
answers and buildah (chroot isolation) otherwise. Plain Python 3.11 standard library: it runs before
any environment exists. See docker/README.md for the steps and the measured times.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCKER_DIR = ROOT / "docker"
WHEELHOUSE = ROOT / "dist" / "wheelhouse"
# The BentoML home whose model store the serving image carries (BENTOML_HOME for `tabship-serving
# build --model-only`). Only its models/ folder goes into the image.
MODEL_HOME = ROOT / "dist" / "bentoml"
MODEL_NAME = "tabship-adult"
TARGETS = ("serving", "training", "ci")
# The workspace package each image installs, with its locked third-party dependencies.
TARGET_PACKAGE = {"serving": "tabship-serving", "training": "tabship-models"}
# The project's own wheels each image installs (no dependencies: the lock export pins those).
TARGET_WHEELS = {
    "serving": ("tabship-data", "tabship-features", "tabship-models", "tabship-serving"),
    "training": ("tabship-data", "tabship-features", "tabship-models"),
    "ci": (),
}
BASE_IMAGE = "localhost/tabship-base:bookworm"
# python3-venv brings ensurepip (the images make a venv); LightGBM's wheel needs libgomp1.
BASE_PACKAGES = ("python3", "python3-venv", "libgomp1")
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# An imported root file system has no environment: the Dockerfiles extend this PATH.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SERVING_PORT = 3000
# The wheels must fit CPython 3.11 on glibc x86_64 (Debian bookworm has glibc 2.36). pip matches a
# --platform tag exactly, so list every manylinux tag such a system accepts.
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
    "linux_x86_64",
)


class ImageError(RuntimeError):
    """A step cannot go on; the message says why and what to do."""


def log(message: str) -> None:
    """Progress on stderr, so that stdout stays free for --json."""
    print(f"image.py: {message}", file=sys.stderr, flush=True)


def run(
    command: Sequence[str | Path],
    *,
    env: dict[str, str] | None = None,
    capture: bool = False,
    check: bool = True,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    """Run a command from the repository root; echo it first."""
    argv = [str(c) for c in command]
    log("$ " + " ".join(argv))
    return subprocess.run(argv, cwd=cwd, env=env, check=check, text=True, capture_output=capture)


def output(command: Sequence[str | Path], env: dict[str, str] | None = None) -> str:
    """A quiet command's stdout, stripped."""
    argv = [str(c) for c in command]
    done = subprocess.run(argv, cwd=ROOT, env=env, check=True, text=True, capture_output=True)
    return done.stdout.strip()


@contextlib.contextmanager
def timed(step: str, timings: dict[str, float]) -> Iterator[None]:
    """Record how long STEP took (wall clock, seconds)."""
    start = time.monotonic()
    yield
    timings[step] = round(time.monotonic() - start, 1)
    log(f"{step}: {timings[step]} s")


# -------------------------------------------------------------------------------------------------
# The wheelhouse.


def uv() -> str:
    """The uv executable (pinned in requirements-bootstrap.txt)."""
    found = shutil.which("uv")
    if not found:
        raise ImageError("uv is not on PATH: pip install -r requirements-bootstrap.txt")
    return found


def pip_env() -> dict[str, str]:
    """The environment for `pip download`: no machine-specific find-links or extra indexes.

    Every file is checked against the lock's hashes anyway; PIP_INDEX_URL (a mirror) still applies.
    """
    env = {
        k: v for k, v in os.environ.items() if k not in {"PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL"}
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def export_requirements(package: str, out: Path) -> None:
    """PACKAGE's third-party dependencies, pinned with hashes by uv.lock."""
    # uv also prints the export on stdout: keep it out of the log.
    run([uv(), "export", "--frozen", "--no-emit-workspace", "--no-default-groups", "--no-header",
         "--package", package, "--output-file", out], capture=True)  # fmt: skip


def compile_bootstrap(out: Path) -> None:
    """requirements-bootstrap.txt resolved with hashes; versions the lock also holds are kept."""
    with tempfile.TemporaryDirectory() as scratch:
        constraints = Path(scratch) / "constraints.txt"
        run([uv(), "export", "--frozen", "--all-packages", "--all-groups", "--no-emit-workspace",
             "--no-hashes", "--no-header", "--output-file", constraints], capture=True)  # fmt: skip
        run([uv(), "pip", "compile", "--quiet", "--generate-hashes", "--no-header",
             "--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28",
             "--constraint", constraints, "--output-file", out,
             ROOT / "requirements-bootstrap.txt"])  # fmt: skip


def pip() -> list[str]:
    """pip: this Python's, or one uv runs (a uv-made venv, like a nox session's, has none)."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    return [uv(), "tool", "run", "pip==26.3"]


def download(requirements: Path, wheelhouse: Path) -> None:
    """Every wheel in REQUIREMENTS for CPython 3.11 on Linux x86_64; hashes checked."""
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    run([*pip(), "download", "--quiet", "--require-hashes", "--no-deps",
         "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
         "--abi", "cp311", *platforms, "--dest", wheelhouse, "--requirement", requirements],
        env=pip_env())  # fmt: skip


def cmd_wheelhouse(args: argparse.Namespace) -> dict[str, Any]:
    """dist/wheelhouse/: locked third-party wheels, the project's wheels, the bootstrap tools."""
    wheelhouse: Path = args.out
    wheelhouse.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    with timed("export", timings):
        for target, package in TARGET_PACKAGE.items():
            export_requirements(package, wheelhouse / f"requirements-{target}.txt")
        compile_bootstrap(wheelhouse / "requirements-ci.txt")
    with timed("download", timings):
        for target in TARGETS:
            download(wheelhouse / f"requirements-{target}.txt", wheelhouse)
    with timed("project wheels", timings):
        for old in wheelhouse.glob("tabship_*.whl"):
            old.unlink()
        run([uv(), "build", "--wheel", "--all-packages", "--quiet", "--out-dir", wheelhouse])
    wheels = sorted(wheelhouse.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    log(f"{wheelhouse.relative_to(ROOT)}: {len(wheels)} wheels, {size / 1e6:.0f} MB")
    return {"wheelhouse": str(wheelhouse), "wheels": len(wheels), "bytes": size, "seconds": timings}


# -------------------------------------------------------------------------------------------------
# Engines: docker when its daemon answers, otherwise buildah.


def docker_answers() -> bool:
    """Whether a Docker daemon answers `docker info`."""
    if not shutil.which("docker"):
        return False
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def choose_tool(wanted: str) -> str:
    """docker or buildah."""
    if wanted == "docker" or (wanted == "auto" and docker_answers()):
        return "docker"
    if not shutil.which("buildah"):
        raise ImageError("no Docker daemon answers and buildah is missing: apt-get install buildah")
    return "buildah"


def buildah_env() -> dict[str, str]:
    """buildah as root without namespaces it cannot create here."""
    return {**os.environ, "BUILDAH_ISOLATION": "chroot"}


def image_exists(tool: str, name: str) -> bool:
    """Whether the local store holds image NAME."""
    command = ["docker", "image", "inspect", name] if tool == "docker" else [
        "buildah", "inspect", "--type", "image", name]  # fmt: skip
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def image_size(tool: str, name: str) -> int:
    """The image's size in bytes, uncompressed (what `docker images` shows)."""
    if tool == "docker":
        return int(output(["docker", "image", "inspect", "--format", "{{.Size}}", name]))
    # buildah reports it only rounded, in SI units: "138 MB".
    listing = json.loads(output(["buildah", "images", "--json", name], env=buildah_env()))
    number, unit = str(listing[0]["size"]).split()
    scale = {"B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
    return int(float(number) * scale[unit])


# -------------------------------------------------------------------------------------------------
# The local base image.


def debootstrap(rootfs: Path, mirror: str) -> None:
    """A minimal Debian bookworm with Python 3.11 at ROOTFS, without caches, docs or man pages."""
    if not shutil.which("debootstrap"):
        raise ImageError("debootstrap is missing: apt-get install debootstrap")
    run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", "bookworm",
         rootfs, mirror])  # fmt: skip
    for garbage in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/man",
                    "usr/share/info", "usr/share/locale", "var/log"):  # fmt: skip
        folder = rootfs / garbage
        for child in folder.iterdir() if folder.is_dir() else ():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            elif child.name != "lock":
                child.unlink()
    (rootfs / "etc" / "apt" / "sources.list").write_text(
        f"deb {mirror} bookworm main\n"
        f"deb {mirror} bookworm-updates main\n"
        "deb http://deb.debian.org/debian-security bookworm-security main\n",
        encoding="utf-8",
    )


def commit_rootfs(tool: str, rootfs: Path, name: str) -> None:
    """Import ROOTFS as image NAME: `buildah from scratch` + copy + commit, or `docker import`."""
    if tool == "docker":
        log(f"$ tar -C {rootfs} -c . | docker import - {name}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "--change", f"ENV PATH={DEFAULT_PATH}",
                        "--change", "ENV LANG=C.UTF-8", "--change",
                        'CMD ["/bin/bash"]', "-", name], stdin=tar.stdout, check=True)  # fmt: skip
        if tar.wait() != 0:
            raise ImageError(f"tar of {rootfs} failed")
        return
    env = buildah_env()
    container = output(["buildah", "from", "scratch"], env=env)
    try:
        mount = output(["buildah", "mount", container], env=env)
        run(["cp", "-a", f"{rootfs}/.", mount])
        run(["buildah", "config", "--env", f"PATH={DEFAULT_PATH}", "--env", "LANG=C.UTF-8",
             "--cmd", "/bin/bash",
             "--label", "org.opencontainers.image.description=Debian bookworm minbase + python3",
             container], env=env)  # fmt: skip
        run(["buildah", "commit", "--quiet", "--format", "docker", container, name], env=env)
    finally:
        subprocess.run(["buildah", "rm", container], env=env, capture_output=True, check=False)


def ensure_base(tool: str, name: str, mirror: str, force: bool) -> bool:
    """Make the local base image unless it exists; True when it was made now."""
    if image_exists(tool, name) and not force:
        log(f"{name} exists: reused (--force remakes it)")
        return False
    with tempfile.TemporaryDirectory(prefix="tabship-base-", dir="/var/tmp") as scratch:
        rootfs = Path(scratch) / "rootfs"
        debootstrap(rootfs, mirror)
        commit_rootfs(tool, rootfs, name)
    return True


def cmd_base(args: argparse.Namespace) -> dict[str, Any]:
    """Make (or reuse) the local Debian bookworm base image."""
    tool = choose_tool(args.tool)
    timings: dict[str, float] = {}
    with timed("base", timings):
        made = ensure_base(tool, args.name, args.mirror, args.force)
    return {"image": args.name, "made": made, "bytes": image_size(tool, args.name),
            "seconds": timings}  # fmt: skip


# -------------------------------------------------------------------------------------------------
# Builds.


def image_name(target: str, tag: str) -> str:
    """The local name of a target's image."""
    return f"localhost/tabship-{target}:{tag}"


def preflight(target: str, wheelhouse: Path) -> None:
    """Fail early, with the fix, when the build context lacks what the Dockerfile copies."""
    requirements = wheelhouse / f"requirements-{target}.txt"
    if not requirements.is_file():
        raise ImageError(
            f"no {requirements.relative_to(ROOT)}: run `python docker/image.py wheelhouse`"
        )
    for package in TARGET_WHEELS[target]:
        if not list(wheelhouse.glob(f"{package.replace('-', '_')}-*.whl")):
            raise ImageError(f"no {package} wheel in the wheelhouse: run it again")
    if target == "serving" and not (MODEL_HOME / "models" / MODEL_NAME / "latest").is_file():
        raise ImageError(
            f"no {MODEL_NAME} model under {MODEL_HOME.relative_to(ROOT)}/models: run "
            "`BENTOML_HOME=dist/bentoml tabship-serving build --model-only` (nox -s image does)"
        )


def build_command(
    tool: str, target: str, base: str, name: str, no_cache: bool = False
) -> list[str]:
    """`docker build` or `buildah bud` for one target, with the repository as the context."""
    dockerfile = DOCKER_DIR / f"{target}.Dockerfile"
    common = ["--file", str(dockerfile), "--build-arg", f"BASE_IMAGE={base}", "--tag", name,
              *(["--no-cache"] if no_cache else [])]  # fmt: skip
    if tool == "docker":
        # BuildKit for RUN --mount; --pull=false: the base may exist only locally.
        return ["docker", "build", *common, str(ROOT)]
    # --format docker keeps HEALTHCHECK (the OCI format has none); --layers caches steps.
    return ["buildah", "bud", "--isolation", "chroot", "--format", "docker", "--layers",
            "--pull-never" if base.startswith("localhost/") else "--pull", *common, str(ROOT)]  # fmt: skip


def cmd_build(args: argparse.Namespace) -> dict[str, Any]:
    """Build one image (or all), from --base-image or the local base image."""
    tool = choose_tool(args.tool)
    targets = TARGETS if args.target == "all" else (args.target,)
    for target in targets:
        preflight(target, WHEELHOUSE)
    timings: dict[str, float] = {}
    base = args.base_image
    if not base:
        with timed("base", timings):
            ensure_base(tool, BASE_IMAGE, DEBIAN_MIRROR, force=False)
        base = BASE_IMAGE
    env = {**buildah_env(), "DOCKER_BUILDKIT": "1"}
    result: dict[str, Any] = {"tool": tool, "base_image": base, "images": {}}
    for target in targets:
        name = image_name(target, args.tag)
        with timed(f"build {target}", timings):
            run(build_command(tool, target, base, name, args.no_cache), env=env)
        size = image_size(tool, name)
        log(f"{name}: {size / 1e6:.0f} MB")
        result["images"][target] = {"name": name, "bytes": size}
    result["seconds"] = timings
    return result


# -------------------------------------------------------------------------------------------------
# Checks: start the image and talk to it.


def free_port() -> int:
    """The image's own port on the loopback interface when it is free (its HEALTHCHECK probes that
    port), otherwise any free port."""
    for wanted in (SERVING_PORT, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", wanted))
            except OSError:
                continue
            port: int = probe.getsockname()[1]
            return port
    raise ImageError("no free port on 127.0.0.1")


def http(url: str, body: dict[str, Any] | None = None, timeout: float = 5) -> tuple[int, Any]:
    """GET (or POST JSON) URL; the status and the decoded body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - a loopback URL we built
        url, data=data, headers={"Content-Type": "application/json"} if data else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            text = answer.read().decode()
            status = int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def example_record(schema: dict[str, Any]) -> dict[str, Any]:
    """A valid request record built from the request schema stored with the model."""
    record: dict[str, Any] = {}
    for spec in schema["fields"]:
        if spec.get("categories"):
            value: Any = spec["categories"][0]
        elif spec["kind"] in {"integer", "number"}:
            low = spec.get("ge") if spec.get("ge") is not None else spec.get("gt")
            value = (low or 0) + 1 if spec.get("gt") is not None else (low or 1)
            if spec.get("le") is not None:
                value = min(value, spec["le"])
            value = int(value) if spec["kind"] == "integer" else float(value)
        elif spec["kind"] == "boolean":
            value = False
        else:
            value = "x"
        record[spec["name"]] = value
    return record


def model_schema() -> dict[str, Any]:
    """The request schema of the model the serving image carries."""
    folder = MODEL_HOME / "models" / MODEL_NAME
    version = (folder / "latest").read_text(encoding="utf-8").strip()
    schema: dict[str, Any] = json.loads((folder / version / "request_schema.json").read_text())
    return schema


def inspect_config(tool: str, name: str) -> dict[str, Any]:
    """The image's runtime config: Entrypoint, Cmd, User, Env, Healthcheck."""
    if tool == "docker":
        raw = json.loads(output(["docker", "image", "inspect", name]))[0]["Config"]
    else:
        info = json.loads(
            output(["buildah", "inspect", "--type", "image", name], env=buildah_env())
        )
        raw = info["Docker"]["config"]
        raw = {k[0].upper() + k[1:]: v for k, v in raw.items()}
    config: dict[str, Any] = raw
    return config


@contextlib.contextmanager
def started(tool: str, name: str, command: list[str], port: int) -> Iterator[subprocess.Popen[str]]:
    """The image's COMMAND running with its network on 127.0.0.1:PORT; stopped afterwards."""
    if tool == "docker":
        container = output(["docker", "run", "--detach", "--rm", "--publish",
                            f"127.0.0.1:{port}:{SERVING_PORT}", name])  # fmt: skip
        process = subprocess.Popen(["docker", "logs", "--follow", container], text=True)
        try:
            yield process
        finally:
            subprocess.run(["docker", "stop", container], capture_output=True, check=False)
            process.wait(timeout=30)
        return
    env = buildah_env()
    container = output(["buildah", "from", "--pull-never", name], env=env)
    # chroot isolation shares the host's network, so the service listens on the host's loopback.
    # A PID namespace of its own: BentoML's workers start new sessions, which a process-group kill
    # misses; when the namespace's first process dies, the kernel ends every process in it.
    argv = ["unshare", "--pid", "--fork", "--kill-child"]
    argv += ["buildah", "run", "--isolation", "chroot", container, "--", *command]
    log("$ " + " ".join(argv))
    process = subprocess.Popen(argv, env=env, text=True, start_new_session=True)
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
        subprocess.run(["buildah", "rm", container], env=env, capture_output=True, check=False)


def check_serving(tool: str, name: str, port: int, timeout: float) -> dict[str, Any]:
    """Start the serving image; wait for /readyz; score one record; run the HEALTHCHECK's probe."""
    config = inspect_config(tool, name)
    entrypoint = list(config.get("Entrypoint") or [])
    command = [*entrypoint, "serve", "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"image": name, "user": config.get("User"), "port": port}
    start = time.monotonic()
    with started(tool, name, command, port) as process:
        status: int | None = None
        while time.monotonic() - start < timeout:
            if process.poll() is not None:
                raise ImageError(f"the service exited with code {process.returncode}")
            with contextlib.suppress(OSError):
                status, _ = http(f"{base}/readyz", timeout=2)
                if status == 200:
                    break
            time.sleep(0.5)
        if status != 200:
            raise ImageError(f"/readyz did not answer 200 within {timeout:.0f} s (last: {status})")
        result["ready_seconds"] = round(time.monotonic() - start, 1)
        for probe in ("livez", "healthz"):
            result[probe] = http(f"{base}/{probe}")[0]
        record = example_record(model_schema())
        status, answer = http(f"{base}/predict", {"records": [record]}, timeout=30)
        if status != 200:
            raise ImageError(f"/predict answered {status}: {answer}")
        prediction = answer["predictions"][0]
        if not 0 <= prediction["probability"] <= 1:
            raise ImageError(f"/predict gave a probability out of range: {prediction}")
        result["prediction"] = prediction
        log(f"ready after {result['ready_seconds']} s; /predict: {prediction}")
        result["healthcheck"] = (
            run_healthcheck(tool, name, config)
            if port == SERVING_PORT
            else f"not run: it probes port {SERVING_PORT}, which was busy"
        )
    return result


def run_healthcheck(tool: str, name: str, config: dict[str, Any]) -> str:
    """Run the image's HEALTHCHECK command against the running service (buildah: same network)."""
    test = list((config.get("Healthcheck") or {}).get("Test") or [])
    if not test or test[0] == "NONE":
        return "none"
    if tool == "docker":
        return "run by docker"  # docker runs it itself and reports it in `docker inspect`
    command = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
    check_command(tool, name, command)  # raises when the probe fails
    return "passed"


def check_command(
    tool: str, name: str, command: list[str], mount: tuple[Path, str] | None = None
) -> str:
    """Run COMMAND in a new container of image NAME (as the image's user); its output.

    MOUNT is (host folder, container folder), mounted read-only.
    """
    volume = ["--volume", f"{mount[0]}:{mount[1]}:ro"] if mount else []
    if tool == "docker":
        return output(["docker", "run", "--rm", *volume, name, *command])
    env = buildah_env()
    container = output(["buildah", "from", "--pull-never", name], env=env)
    try:
        return output(
            ["buildah", "run", "--isolation", "chroot", *volume, container, "--", *command], env=env
        )
    finally:
        subprocess.run(["buildah", "rm", container], env=env, capture_output=True, check=False)


def cmd_check(args: argparse.Namespace) -> dict[str, Any]:
    """Start an image and prove it works: serving answers, training trains, CI has its tools."""
    tool = choose_tool(args.tool)
    name = args.image or image_name(args.target, args.tag)
    if not image_exists(tool, name):
        raise ImageError(
            f"no image {name}: run `python docker/image.py build --target {args.target}`"
        )
    timings: dict[str, float] = {}
    with timed(f"check {args.target}", timings):
        if args.target == "serving":
            result = check_serving(tool, name, args.port or free_port(), args.timeout)
        elif args.target == "training":
            text = check_command(tool, name, ["tabship-models", "train", "--json"])
            run_ = json.loads(text[text.index("{") :])
            keep = ("status", "model_name", "model_version", "gate_passed", "holdout")
            result = {"image": name, "train": {k: run_.get(k) for k in keep}}
        else:
            # The repository, mounted read-only: nox must list its sessions with these tools.
            probe = ("id -u; python --version; git --version; uv --version; nox --version 2>&1; "
                     "invoke --version; nox --noxfile /src/noxfile.py --list 2>&1 | tail -n 3")  # fmt: skip
            text = check_command(tool, name, ["sh", "-c", probe], mount=(ROOT, "/src"))
            result = {"image": name, "output": text.splitlines()}
    result["seconds"] = timings
    return result


# -------------------------------------------------------------------------------------------------
# Command line.


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    top = argparse.ArgumentParser(prog="python docker/image.py", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    top.add_argument("--json", action="store_true", help="print the result as one JSON object")
    commands = top.add_subparsers(dest="command", required=True)

    wheelhouse = commands.add_parser("wheelhouse", help="dist/wheelhouse from uv.lock")
    wheelhouse.add_argument("--out", type=Path, default=WHEELHOUSE, help="default: dist/wheelhouse")
    wheelhouse.set_defaults(run=cmd_wheelhouse)

    def add_tool(command: argparse.ArgumentParser) -> None:
        command.add_argument("--tool", choices=("auto", "docker", "buildah"), default="auto",
                             help="default: docker when its daemon answers, else buildah")  # fmt: skip

    base = commands.add_parser("base", help=f"make (or reuse) {BASE_IMAGE} with debootstrap")
    base.add_argument("--name", default=BASE_IMAGE)
    base.add_argument("--mirror", default=DEBIAN_MIRROR)
    base.add_argument("--force", action="store_true", help="make it again even if it exists")
    add_tool(base)
    base.set_defaults(run=cmd_base)

    build = commands.add_parser("build", help="build an image with docker or buildah")
    build.add_argument("--target", choices=(*TARGETS, "all"), default="serving")
    base_help = f"BASE_IMAGE build argument (default: {BASE_IMAGE}, made if missing)"
    build.add_argument("--base-image", default="", help=base_help)
    build.add_argument("--tag", default="latest")
    build.add_argument("--no-cache", action="store_true", help="rebuild every step")
    add_tool(build)
    build.set_defaults(run=cmd_build)

    check = commands.add_parser("check", help="start a built image and check that it works")
    check.add_argument("--target", choices=TARGETS, default="serving")
    check.add_argument("--image", default="", help="image name (default: the target's build)")
    check.add_argument("--tag", default="latest")
    check.add_argument(
        "--port", type=int, default=0, help="loopback port (default: 3000 if free, else any)"
    )
    check.add_argument("--timeout", type=float, default=120, help="seconds to wait for /readyz")
    add_tool(check)
    check.set_defaults(run=cmd_check)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    try:
        result: dict[str, Any] = args.run(args)
    except (ImageError, subprocess.CalledProcessError) as error:
        print(f"image.py {args.command}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
