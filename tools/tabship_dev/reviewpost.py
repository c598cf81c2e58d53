"""Post a model review on its pull or merge request: one comment, created once, then edited.

The platform comes from the CI environment (GitHub Actions, GitLab CI, or Jenkins building a pull
or merge request, whose CHANGE_URL names it), or from `--post github|gitlab`. The comment is found
again by the review's hidden marker, over every page of comments. On GitHub a commit status
carries the verdict as well. Tokens come from the environment or from a file named by
`*_TOKEN_FILE`; they go in one header and nowhere else (no message, no URL, no log).

The documented requests:
- GitHub REST: GET /repos/{repo}/issues/{n}/comments?per_page=100 (pages by the Link header),
  PATCH /repos/{repo}/issues/comments/{id} or POST /repos/{repo}/issues/{n}/comments with
  {"body"}; POST /repos/{repo}/statuses/{sha} with {"state", "context", "description",
  "target_url"}. Headers: Authorization: Bearer TOKEN, Accept: application/vnd.github+json,
  X-GitHub-Api-Version: 2022-11-28.
- GitLab REST v4: GET /projects/{id}/merge_requests/{iid}/notes?per_page=100 (pages by
  X-Next-Page), PUT .../notes/{note_id} or POST .../notes with {"body"}. Header: PRIVATE-TOKEN.
Stdlib only (urllib): the tool runs in any venv.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = "<!-- tabship-review -->"  # tabship.models' review/report.py writes it first
TIMEOUT = 20  # seconds for each request
MAX_PAGES = 50  # 5,000 comments: a bound on a pull request that has gone wrong
STATUS_CONTEXT = "tabship/review"


class PostError(RuntimeError):
    """A post failed; the message is one line and holds no token."""


@dataclass(frozen=True)
class Target:
    """Where the comment goes."""

    platform: str  # github | gitlab
    api: str  # https://api.github.com, https://gitlab.example.com/api/v4
    project: str  # owner/name (GitHub) or the project's id or path (GitLab)
    number: str  # the pull request's number or the merge request's iid
    token: str
    sha: str = ""  # the head commit, for GitHub's commit status
    page_url: str = ""  # the review's HTML page, when CI publishes it


def token(env: Mapping[str, str], *names: str) -> str:
    """The first of NAMES set in ENV, or the contents of the file NAME_FILE names."""
    for name in names:
        if env.get(name):
            return env[name].strip()
        path = env.get(f"{name}_FILE")
        if path:
            try:
                return Path(path).read_text(encoding="utf-8").strip()
            except OSError as error:
                raise PostError(f"{name}_FILE={path}: {error.strerror}") from None
    return ""


def _from_change_url(env: Mapping[str, str]) -> tuple[str, str, str, str] | None:
    """Jenkins (multibranch): the platform, API, project and number in CHANGE_URL."""
    url = env.get("CHANGE_URL", "")
    github = re.fullmatch(r"(https?://[^/]+)/([^/]+/[^/]+)/pull/(\d+)/?", url)
    if github:
        host = github.group(1)
        api = "https://api.github.com" if host == "https://github.com" else f"{host}/api/v3"
        return "github", api, github.group(2), github.group(3)
    gitlab = re.fullmatch(r"(https?://[^/]+)/(.+?)/-/merge_requests/(\d+)/?", url)
    if gitlab:
        return "gitlab", f"{gitlab.group(1)}/api/v4", gitlab.group(2), gitlab.group(3)
    return None


def detect(env: Mapping[str, str], forced: str = "auto") -> Target | None:
    """The pull or merge request this CI run builds, or None (not CI, not a pull request)."""
    found: tuple[str, str, str, str] | None = None
    sha = ""
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_EVENT_PATH"):
        event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        pull = event.get("pull_request") or {}
        if pull.get("number"):
            api = env.get("GITHUB_API_URL", "https://api.github.com")
            found = ("github", api, env.get("GITHUB_REPOSITORY", ""), str(pull["number"]))
            sha = str((pull.get("head") or {}).get("sha", ""))
    elif env.get("GITLAB_CI") == "true" and env.get("CI_MERGE_REQUEST_IID"):
        found = ("gitlab", env.get("CI_API_V4_URL", ""), env.get("CI_PROJECT_ID", ""),
                 env["CI_MERGE_REQUEST_IID"])  # fmt: skip
    elif env.get("JENKINS_URL") and env.get("CHANGE_ID"):
        found = _from_change_url(env)
        sha = env.get("GIT_COMMIT", "")
    if found is None:
        return None
    platform, api, project, number = found
    if forced not in ("auto", platform):
        raise PostError(f"--post {forced}, but this CI run builds a {platform} request")
    names = {"github": ("TABSHIP_GITHUB_TOKEN", "GITHUB_TOKEN"),
             "gitlab": ("TABSHIP_GITLAB_TOKEN", "GITLAB_TOKEN")}[platform]  # fmt: skip
    secret = token(env, *names)
    if not secret:
        raise PostError(f"no token to post on {platform}: set {names[0]} (or {names[0]}_FILE)")
    return Target(platform, api.rstrip("/"), project, number, secret, sha, page_url(env))


def page_url(env: Mapping[str, str]) -> str:
    """Where CI publishes the review's HTML page, when it can be known before the job ends."""
    if env.get("GITLAB_CI") == "true" and env.get("CI_JOB_URL"):
        return f"{env['CI_JOB_URL']}/artifacts/file/reports/review/review.html"
    if env.get("JENKINS_URL") and env.get("BUILD_URL"):
        return f"{env['BUILD_URL']}artifact/reports/review/review.html"
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_RUN_ID"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env['GITHUB_RUN_ID']}"
    return ""


class Client:
    """JSON over HTTPS with one auth header; every failure a PostError of one line."""

    def __init__(self, target: Target) -> None:
        self.target = target
        if target.platform == "github":
            self.headers = {
                "Authorization": f"Bearer {target.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            }
        else:
            self.headers = {"PRIVATE-TOKEN": target.token}

    def call(self, method: str, path: str, body: Any = None) -> tuple[Any, Mapping[str, str]]:
        url = path if path.startswith("http") else f"{self.target.api}{path}"
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.headers, "User-Agent": "tabship-review"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise PostError(f"{url[:100]}: not an http or https URL")
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        shown = urllib.parse.urlsplit(url)._replace(query="").geturl()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
                text = answer.read().decode("utf-8")
                return (json.loads(text) if text else None), dict(answer.headers)
        except urllib.error.HTTPError as error:
            detail = error.read(300).decode("utf-8", "replace").replace(self.target.token, "***")
            detail = " ".join(detail.split())[:200]
            raise PostError(f"{method} {shown}: HTTP {error.code} {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise PostError(f"{method} {shown}: {reason}") from None

    def pages(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following Link (GitHub) or X-Next-Page (GitLab)."""
        url: str | None = f"{path}{'&' if '?' in path else '?'}per_page=100"
        for _ in range(MAX_PAGES):
            if url is None:
                return
            items, headers = self.call("GET", url)
            yield from items or []
            url = _next_page(url, headers)
        raise PostError(f"GET {path}: more than {MAX_PAGES} pages of comments")


def _next_page(url: str, headers: Mapping[str, str]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    link = re.search(r'<([^>]+)>;\s*rel="next"', lowered.get("link", ""))
    if link:
        return link.group(1)
    following = lowered.get("x-next-page", "").strip()
    if following:
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query))
        query["page"] = following
        return parts._replace(query=urllib.parse.urlencode(query)).geturl()
    return None


def post(target: Target, markdown: str, verdict: str, summary: str) -> dict[str, Any]:
    """Create or update the one review comment (and on GitHub the commit status); what was done."""
    client = Client(target)
    base = f"/repos/{target.project}"
    if target.platform == "github":
        listing = create = f"{base}/issues/{target.number}/comments"
    else:
        project = urllib.parse.quote(target.project, safe="")
        listing = create = f"/projects/{project}/merge_requests/{target.number}/notes"
    found = next((c for c in client.pages(listing) if MARKER in str(c.get("body", ""))), None)
    if found is None:
        answer, _ = client.call("POST", create, {"body": markdown})
        action = "created"
    elif target.platform == "github":
        answer, _ = client.call(
            "PATCH", f"{base}/issues/comments/{found['id']}", {"body": markdown}
        )
        action = "updated"
    else:
        answer, _ = client.call("PUT", f"{listing}/{found['id']}", {"body": markdown})
        action = "updated"
    done: dict[str, Any] = {"platform": target.platform, "comment": action,
                            "id": (answer or {}).get("id")}  # fmt: skip
    if target.platform == "github" and target.sha:
        state = "success" if verdict == "promote" else "failure"
        body = {"state": state, "context": STATUS_CONTEXT, "description": summary[:140]}
        if target.page_url:
            body["target_url"] = target.page_url
        client.call("POST", f"{base}/statuses/{target.sha}", body)
        done["status"] = state
    return done


def review_command(args: Any, env: Mapping[str, str]) -> int:
    """`review`: run `tabship-models review`, post it where CI builds a request, and exit 3 when
    the gate would refuse the candidate (0 with --warn-only or TABSHIP_REVIEW_WARN_ONLY=true)."""
    import subprocess

    warn_only = args.warn_only or env.get("TABSHIP_REVIEW_WARN_ONLY", "").lower() in TRUE
    failed = ""
    target = None
    try:
        if args.post != "none":
            target = detect(env, args.post)
            if target is None and args.post != "auto":
                failed = f"--post {args.post}: this is not a CI run for a pull or merge request"
    except PostError as error:
        failed = str(error)
    command = ["tabship-models", "review", "--json", "--warn-only", "--out", str(args.out)]
    command += ["--against", args.against] + (["--dataset", args.dataset] if args.dataset else [])
    link = target.page_url if target else page_url(env)
    if link:
        command += ["--link", f"HTML page={link}"]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:  # the review itself failed: its one line is on stderr already
        return done.returncode
    document = json.loads(done.stdout)
    posted: dict[str, Any] | None = None
    if target is not None and not failed:
        markdown = Path(document["files"]["markdown"]).read_text(encoding="utf-8")
        try:
            posted = post(target, markdown, document["verdict"], document["summary"])
        except PostError as error:
            failed = str(error)
    document["posted"] = posted
    return _report(document, failed, warn_only, args.json)


def _report(document: dict[str, Any], failed: str, warn_only: bool, as_json: bool) -> int:
    """Print what the review found and where it went; the exit code."""
    if as_json:
        print(json.dumps(document))
    else:
        posted = document["posted"]
        print(document["summary"])
        print(f"review: {document['files']['markdown']} and {document['files']['html']}")
        if posted:
            print(f"posted on {posted['platform']}: comment {posted['comment']}")
    if failed:
        print(f"error: the review was not posted: {failed}", file=sys.stderr)
    refused = document["verdict"] != "promote"
    if refused:
        severity = "warning" if warn_only else "error"
        print(f"{severity}: the gate would refuse candidate version "
              f"{document['candidate']['version']}", file=sys.stderr)  # fmt: skip
    if refused and not warn_only:
        return 3
    return 1 if failed else 0


TRUE = ("1", "true", "yes")
