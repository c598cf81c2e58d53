# The CI environment every system can use: Python 3.11, git, and the pinned bootstrap tools.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

COPY requirements-bootstrap.txt /tmp/requirements-bootstrap.txt
RUN python -m pip install --no-cache-dir -r /tmp/requirements-bootstrap.txt

RUN useradd --create-home --uid 1000 ci
USER ci
ENV UV_PYTHON_DOWNLOADS=never
HEALTHCHECK NONE
