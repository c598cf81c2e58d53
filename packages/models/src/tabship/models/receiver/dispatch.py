"""The four ways to start the retrain pipeline: a local command, or a pipeline in GitLab, GitHub
Actions or Jenkins, each through the API its server documents.

Each dispatcher is called by the receiver's worker thread, never in the webhook's request, and
returns one line saying what it started; a failure raises DispatchError with one line that never
holds a secret. The HTTP calls use urllib: three single POSTs need no client library.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from importlib.metadata import version
from typing import Protocol

from tabship.models.receiver.alertgroup import RetrainRequest
from tabship.models.receiver.config import LocalSettings, ReceiverConfig, RemoteSettings

# The distribution's version, not tabship.models.__version__: the package's API names the whole
# training stack, and the receiver is kept apart from it.
__version__ = version("tabship-models")
TIMEOUT = 15.0  # seconds for one API call: the worker waits, the webhook's answer does not
# The retrain command's outcomes that are no failure: promoted, refused, skipped (nox maps the
# three to 0). Any other exit code is a failed job, and the alert group may start another.
LOCAL_OUTCOMES = {0: "done", 5: "refused (the champion stays)", 6: "skipped"}
GITHUB_API_VERSION = "2022-11-28"
USER_AGENT = f"tabship-receiver/{__version__}"


class DispatchError(RuntimeError):
    """Starting the pipeline failed; the message is one line."""


class Dispatcher(Protocol):
    def __call__(self, request: RetrainRequest) -> str: ...

    def cancel(self) -> None: ...


def ci_variables(request: RetrainRequest) -> dict[str, str]:
    """The pipeline variables (GitLab) and build parameters (Jenkins) a request sets; the local
    command gets them in its environment too."""
    return {
        "TABSHIP_TRIGGER": request.trigger,
        "TABSHIP_DATASET": request.dataset,
        "TABSHIP_MODEL_NAME": request.model_name,
        "TABSHIP_ALERTS": ",".join(request.alertnames),
    }


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
    """POST BODY; (status, Location header, answer). DispatchError for a non-2xx or no answer."""
    request = urllib.request.Request(  # noqa: S310 - the config checked it is http(s)
        url, data=body, method="POST", headers={"User-Agent": USER_AGENT, **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - config URL
            return int(answer.status), answer.headers.get("Location", ""), answer.read()
    except urllib.error.HTTPError as error:
        detail = error.read()[:200].decode("utf-8", "replace").replace("\n", " ")
        raise DispatchError(f"POST {url}: HTTP {error.code} {error.reason}: {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DispatchError(f"POST {url}: {reason}") from None


class GitLabTrigger:
    """POST /api/v4/projects/:id/trigger/pipeline with the trigger token, the ref and
    `variables[NAME]` form fields (GitLab's pipeline trigger API; the pipeline's source is
    `trigger`)."""

    def __init__(self, settings: RemoteSettings) -> None:
        project = urllib.parse.quote(settings.project, safe="")
        self.url = f"{settings.url}/api/v4/projects/{project}/trigger/pipeline"
        self.settings = settings

    def __call__(self, request: RetrainRequest) -> str:
        form = {"token": self.settings.token, "ref": self.settings.ref}
        form |= {f"variables[{name}]": value for name, value in ci_variables(request).items()}
        _, _, answer = _post(
            self.url, urllib.parse.urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )  # fmt: skip
        try:
            pipeline = json.loads(answer)
            return f"GitLab pipeline {pipeline['id']} on {self.settings.ref}: {pipeline.get('web_url', '')}"
        except (ValueError, TypeError, KeyError):
            return f"GitLab pipeline requested on {self.settings.ref} (the answer named none)"

    def cancel(self) -> None:
        """Nothing runs here: the pipeline runs in GitLab."""


class GitHubDispatch:
    """POST /repos/OWNER/REPO/dispatches with `event_type` and `client_payload` (GitHub's
    repository_dispatch; it starts the workflows on the default branch that listen for it)."""

    def __init__(self, settings: RemoteSettings) -> None:
        self.url = f"{settings.url}/repos/{settings.repository}/dispatches"
        self.settings = settings

    def __call__(self, request: RetrainRequest) -> str:
        payload = {  # at most 10 top-level properties, GitHub's limit
            "trigger": request.trigger,
            "dataset": request.dataset,
            "model_name": request.model_name,
            "alerts": list(request.alertnames),
            "group_key": request.group_key,
        }
        body = json.dumps({"event_type": self.settings.event_type, "client_payload": payload})
        _post(self.url, body.encode(), {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.settings.token}",
            "X-GitHub-Api-Version": GITHUB_API_VERSION,
            "Content-Type": "application/json",
        })  # fmt: skip
        return (
            f"GitHub repository_dispatch {self.settings.event_type} to {self.settings.repository}"
        )

    def cancel(self) -> None:
        """Nothing runs here: the workflow runs in GitHub Actions."""


class JenkinsBuild:
    """POST /job/NAME/buildWithParameters with the parameters as a form, authenticated by the
    user's API token (HTTP basic, sent up front: Jenkins answers 403, not 401, to none; an API
    token needs no CSRF crumb)."""

    def __init__(self, settings: RemoteSettings) -> None:
        path = "/".join(
            f"job/{urllib.parse.quote(part, safe='')}" for part in settings.job.split("/")
        )
        self.url = f"{settings.url}/{path}/buildWithParameters"
        self.settings = settings

    def __call__(self, request: RetrainRequest) -> str:
        login = f"{self.settings.user}:{self.settings.token}".encode()
        _, location, _ = _post(
            self.url, urllib.parse.urlencode(ci_variables(request)).encode(),
            {"Content-Type": "application/x-www-form-urlencoded",
             "Authorization": "Basic " + base64.b64encode(login).decode()},
        )  # fmt: skip
        return f"Jenkins build of {self.settings.job} queued: {location or '(no queue item named)'}"

    def cancel(self) -> None:
        """Nothing runs here: the build runs in Jenkins."""


class LocalJob:
    """Run the configured command with the request's fields filled in, and wait for it: the
    worker runs one job at a time. Output goes to the settings' log file."""

    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        self._process: subprocess.Popen[bytes] | None = None

    def __call__(self, request: RetrainRequest) -> str:
        argv = [part.format_map(request.fields()) for part in self.settings.command]
        self.settings.log.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with self.settings.log.open("ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {argv}\n".encode())
            out.flush()
            try:
                # Its own session: cancel() stops the job and what it started, nothing else.
                self._process = subprocess.Popen(
                    argv, cwd=self.settings.cwd, stdout=out, stderr=subprocess.STDOUT,
                    env={**os.environ, **ci_variables(request)}, start_new_session=True,
                )  # fmt: skip
            except OSError as error:
                raise DispatchError(f"cannot start {argv[0]}: {error.strerror}") from None
            code = self._process.wait()
        seconds = time.monotonic() - started
        if code not in LOCAL_OUTCOMES:
            raise DispatchError(f"{' '.join(argv)} exited {code} after {seconds:.1f} s "
                                f"(log: {self.settings.log})")  # fmt: skip
        return f"{' '.join(argv)}: {LOCAL_OUTCOMES[code]} (exit {code}, {seconds:.1f} s)"

    def cancel(self) -> None:
        """Stop a running job's process group (the retrain is kill-safe: the aliases stay)."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def make_dispatcher(config: ReceiverConfig) -> Dispatcher:
    """The dispatcher that CONFIG's mode names."""
    if config.local is not None:
        return LocalJob(config.local)
    assert config.remote is not None  # the config's loader sets one of the two
    kinds: dict[str, type[GitLabTrigger | GitHubDispatch | JenkinsBuild]] = {
        "gitlab": GitLabTrigger, "github": GitHubDispatch, "jenkins": JenkinsBuild,
    }  # fmt: skip
    return kinds[config.mode](config.remote)
