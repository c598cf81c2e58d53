"""The review's posting, against loopback stand-ins of GitHub and GitLab (forges.py): one comment
created, then found again through the pages and edited; GitHub's commit status; Jenkins building
a pull or merge request; and a refused post is one line without the token, the verdict kept."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tabship_dev import reviewpost
from tabship_dev.reviewpost import MARKER, PostError, Target, detect, post

from .forges import Forge

TOKEN = "ghp_secret-token-0123456789"
SHA = "a" * 40


def _github_env(tmp_path: Path, forge: Forge, number: int = 7) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": number, "head": {"sha": SHA}}}))
    return {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(event), "GITHUB_API_URL": forge.url,
            "GITHUB_REPOSITORY": "team/tabship", "GITHUB_TOKEN": TOKEN, "GITHUB_RUN_ID": "42",
            "GITHUB_SERVER_URL": "https://github.example"}  # fmt: skip


def test_github_comment_is_created_once_then_updated_through_the_pages(tmp_path: Path) -> None:
    with Forge("github", TOKEN) as forge:
        forge.comments += [{"id": i, "body": f"looks good {i}"} for i in range(5)]
        target = detect(_github_env(tmp_path, forge))
        assert target is not None and target.number == "7" and target.sha == SHA
        first = post(target, f"{MARKER}\nfirst", "promote", "Better: ...")
        assert first["comment"] == "created" and first["status"] == "success"
        second = post(target, f"{MARKER}\nsecond", "refuse", "Worse: " + "x" * 300)
        assert second == {**second, "comment": "updated", "id": first["id"], "status": "failure"}
        reviews = [c for c in forge.comments if MARKER in c["body"]]
        assert [c["body"] for c in reviews] == [f"{MARKER}\nsecond"]  # one comment, edited
        pages = [p for m, p in forge.requests if m == "GET"]
        assert len(pages) == 3 + 3  # 6 comments, two a page: the marker is on the last page
        assert forge.statuses[-1]["context"] == "tabship/review"
        assert (
            forge.statuses[-1]["target_url"]
            == "https://github.example/team/tabship/actions/runs/42"
        )
        assert len(forge.statuses[-1]["description"]) <= 140


def test_gitlab_note_is_created_once_then_updated_through_the_pages() -> None:
    with Forge("gitlab", TOKEN, "/api/v4") as forge:
        forge.comments += [{"id": i, "body": "a note"} for i in range(3)]
        env = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "12", "CI_PROJECT_ID": "99",
               "CI_API_V4_URL": forge.url, "TABSHIP_GITLAB_TOKEN": TOKEN,
               "CI_JOB_URL": "https://gitlab.example/g/p/-/jobs/5"}  # fmt: skip
        target = detect(env)
        assert target is not None and target.page_url.endswith(
            "/jobs/5/artifacts/file/reports/review/review.html"
        )
        assert post(target, f"{MARKER}\none", "promote", "s")["comment"] == "created"
        assert post(target, f"{MARKER}\ntwo", "promote", "s")["comment"] == "updated"
        assert [c["body"] for c in forge.comments if MARKER in c["body"]] == [f"{MARKER}\ntwo"]
        assert ("PUT", "/api/v4/projects/99/merge_requests/12/notes/1003") in forge.requests


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_jenkins_posts_where_its_change_url_points(kind: str, tmp_path: Path) -> None:
    prefix = "/api/v3" if kind == "github" else "/api/v4"
    with Forge(kind, TOKEN, prefix) as forge:
        host = forge.url[: -len(prefix)]
        change = (
            f"{host}/team/tabship/pull/3"
            if kind == "github"
            else f"{host}/team/tabship/-/merge_requests/3"
        )
        token_file = tmp_path / "token"
        token_file.write_text(TOKEN + "\n")
        name = "TABSHIP_GITHUB_TOKEN_FILE" if kind == "github" else "TABSHIP_GITLAB_TOKEN_FILE"
        env = {"JENKINS_URL": "https://ci.example/", "CHANGE_ID": "3", "CHANGE_URL": change,
               "GIT_COMMIT": SHA, "BUILD_URL": "https://ci.example/job/x/9/",
               name: str(token_file)}  # fmt: skip
        target = detect(env)
        assert target is not None and target.platform == kind
        assert target.page_url == "https://ci.example/job/x/9/artifact/reports/review/review.html"
        assert post(target, f"{MARKER}\nfrom Jenkins", "promote", "s")["comment"] == "created"
        assert forge.comments[-1]["body"].endswith("from Jenkins")


def test_not_a_request_and_wrong_platform() -> None:
    assert detect({"GITHUB_ACTIONS": "true"}) is None  # a push, not a pull request
    assert detect({"JENKINS_URL": "https://ci.example/"}) is None  # a branch build
    with pytest.raises(PostError, match="--post gitlab, but this CI run builds a github"):
        detect({"JENKINS_URL": "x", "CHANGE_ID": "1", "CHANGE_URL": "https://github.com/a/b/pull/1",
                "GITHUB_TOKEN": TOKEN}, "gitlab")  # fmt: skip
    with pytest.raises(PostError, match="no token to post on gitlab: set TABSHIP_GITLAB_TOKEN"):
        detect({"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "1"})


def test_a_refused_post_is_one_line_without_the_token(tmp_path: Path) -> None:
    with Forge("github", TOKEN) as forge:
        target = detect(_github_env(tmp_path, forge))
        assert target is not None
        forge.fail_with = 403
        with pytest.raises(PostError) as raised:
            post(target, MARKER, "promote", "s")
        assert str(raised.value).startswith("GET ") and "HTTP 403" in str(raised.value)
        assert "\n" not in str(raised.value) and TOKEN not in str(raised.value)
    wrong = Target("github", forge.url, "team/tabship", "7", "wrong-token")
    with pytest.raises(PostError, match=r"HTTP 401|Connection refused"):
        post(wrong, MARKER, "promote", "s")


def test_the_review_command_posts_and_keeps_the_verdict(
    tmp_path: Path, make_small_project: Callable[[Path], Path], repo_root: Path
) -> None:
    """The whole command, as `nox -s review` runs it in a GitHub pull request's job: the real
    review of a small project, posted to the stand-in; then the same with the API refusing,
    where the verdict and the files stay and the failure is one line."""
    project = make_small_project(tmp_path / "project")
    with Forge("github", TOKEN) as forge:
        env = {**_github_env(tmp_path, forge), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
               "PYTHONPATH": str(repo_root / "tools"), "HOME": str(tmp_path)}  # fmt: skip
        command = [sys.executable, "-m", "tabship_dev", "review", "--json", "--out",
                   str(tmp_path / "review")]  # fmt: skip
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True,
                              check=False)  # fmt: skip
        assert done.returncode in (0, 3), done.stderr
        document = json.loads(done.stdout)
        assert document["posted"]["comment"] == "created"
        assert forge.comments[0]["body"] == (tmp_path / "review" / "review.md").read_text()
        assert forge.statuses[0]["state"] == (
            "success" if document["verdict"] == "promote" else "failure"
        )
        assert "HTML page" in forge.comments[0]["body"]
        forge.fail_with = 502
        again = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True,
                               check=False)  # fmt: skip
    assert again.returncode == (3 if document["verdict"] == "refuse" else 1)
    assert json.loads(again.stdout)["summary"] == document["summary"]  # the verdict is kept
    errors = [line for line in again.stderr.splitlines() if line.startswith("error:")]
    assert (
        errors[0].startswith("error: the review was not posted: GET ") and "HTTP 502" in errors[0]
    )
    assert TOKEN not in again.stderr + again.stdout
    assert reviewpost.MARKER in (tmp_path / "review" / "review.md").read_text()


@pytest.mark.parametrize(
    ("verdict", "failed", "warn_only", "code"),
    [("promote", "", False, 0), ("refuse", "", False, 3), ("refuse", "", True, 0),
     ("promote", "GET x: HTTP 502", False, 1), ("refuse", "GET x: HTTP 502", False, 3)],
)  # fmt: skip
def test_the_exit_code_is_the_verdict_then_the_post(
    verdict: str, failed: str, warn_only: bool, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    document = {"verdict": verdict, "summary": "s", "candidate": {"version": "2"},
                "files": {"markdown": "r.md", "html": "r.html"}, "posted": None}  # fmt: skip
    assert reviewpost._report(document, failed, warn_only, False) == code
    err = capsys.readouterr().err
    assert ("warning: the gate would refuse" in err) is (verdict == "refuse" and warn_only)


def test_act_runs_the_pull_request_jobs_without_the_jobs_above_them(
    repo_root: Path, tmp_path: Path
) -> None:
    """act runs a job's `needs` first; the cut copy keeps the named jobs as written."""
    import yaml
    from tabship_dev.act import act_command, only_jobs

    workflow = repo_root / ".github" / "workflows" / "ci.yml"
    cut = yaml.safe_load(only_jobs(workflow, ["train", "review"], tmp_path / "ci.yml").read_text())
    original = yaml.safe_load(workflow.read_text())
    assert list(cut["jobs"]) == ["train", "review"] and "on" in cut
    assert "needs" not in cut["jobs"]["train"] and cut["jobs"]["review"]["needs"] == ["train"]
    assert cut["jobs"]["review"]["steps"] == original["jobs"]["review"]["steps"]
    command = act_command(["pull_request"], tmp_path, repo_root, act="act")
    stand_ins = [a for a in command if a.startswith("actions/")]
    assert len(stand_ins) == 4 and all(Path(a.split("=", 1)[1]).is_dir() for a in stand_ins)
