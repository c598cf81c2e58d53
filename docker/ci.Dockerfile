# The CI image every system can use (Jenkins agent, GitLab `image:`, GitHub `container:`):
# Python 3.11, git and the pinned bootstrap tools (uv, nox, invoke) on PATH; nox does the rest.
#
# Build from the repository root after `python docker/image.py wheelhouse`:
#   docker build -f docker/ci.Dockerfile --build-arg BASE_IMAGE=python:3.11-slim-bookworm .
# The tools come only from dist/wheelhouse (requirements-ci.txt: requirements-bootstrap.txt
# resolved with hashes, at the versions uv.lock holds).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

# git and CA certificates from Debian when the base lacks them. Checkouts belong to the runner's
# user, not to this image's, so git must trust every folder.
# hadolint ignore=DL3008
RUN if ! command -v git >/dev/null || [ ! -e /etc/ssl/certs/ca-certificates.crt ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends git ca-certificates \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && git config --system --add safe.directory '*'

# tests/monitoring runs the real Prometheus (promtool), Alertmanager (amtool) and Pushgateway.
# hadolint ignore=DL3008
RUN if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null \
        || ! command -v prometheus-pushgateway >/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends \
            prometheus prometheus-alertmanager prometheus-pushgateway \
        && rm -rf /var/lib/apt/lists/*; \
    fi

# The wheelhouse is bind-mounted for this step only, so no wheel stays in a layer. A layer cache
# keys a RUN by its text, not by what it mounts: REQUIREMENTS_DIGEST (image.py: the hash-pinned
# requirements' sha256) is in the text, so changed requirements rebuild the step.
ARG REQUIREMENTS_DIGEST=unset
RUN --mount=type=bind,source=dist/wheelhouse,target=/wheelhouse \
    echo "requirements ${REQUIREMENTS_DIGEST}" \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheelhouse \
        --require-hashes --requirement /wheelhouse/requirements-ci.txt \
    && /opt/venv/bin/pip check

RUN groupadd --gid 1000 ci \
    && useradd --create-home --uid 1000 --gid 1000 --shell /bin/sh ci

# nox finds python3.11 on PATH (the venv's); uv must never download an interpreter.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never

USER 1000:1000
WORKDIR /home/ci
# Runners execute jobs in it; nothing listens, so there is nothing to probe.
HEALTHCHECK NONE
