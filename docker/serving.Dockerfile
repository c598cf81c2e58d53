# The serving image: the champion model behind BentoML on port 3000, as the non-root user 10001.
#
# Build from the repository root, after the wheelhouse and the model store exist (nox -s image
# makes both, or see docker/README.md):
#   python docker/image.py wheelhouse
#   BENTOML_HOME=dist/bento tabship-serving build --model-only
#   docker build -f docker/serving.Dockerfile --build-arg BASE_IMAGE=python:3.11-slim-bookworm .
# Python packages come only from dist/wheelhouse (no index), pinned and hash-checked by uv.lock.
ARG BASE_IMAGE=python:3.11-slim-bookworm
# Two stages: `runtime` holds everything but the model, so it can be built (and cached) before a
# champion exists (`image.py prepare`); the final stage adds the model store.
FROM ${BASE_IMAGE} AS runtime

# LightGBM's wheel links the system libgomp. The local base has it; other bases get Debian's.
# hadolint ignore=DL3008
RUN if ! python3 -c "import ctypes.util, sys; sys.exit(not ctypes.util.find_library('gomp'))"; then \
        apt-get update \
        && apt-get install -y --no-install-recommends libgomp1 \
        && rm -rf /var/lib/apt/lists/*; \
    fi

# The wheelhouse is bind-mounted for these steps only, so no wheel stays in a layer. A layer
# cache keys a RUN by its text, not by what it mounts, so each names the digest of what it
# installs (image.py sets them): the hash-pinned requirements, then the project's wheels. A
# changed Python file rebuilds only the second, small step.
ARG REQUIREMENTS_DIGEST=unset
RUN --mount=type=bind,source=dist/wheelhouse,target=/wheelhouse \
    echo "requirements ${REQUIREMENTS_DIGEST}" \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheelhouse \
        --require-hashes --requirement /wheelhouse/requirements-serving.txt

ARG PROJECT_WHEELS_DIGEST=unset
RUN --mount=type=bind,source=dist/wheelhouse,target=/wheelhouse \
    echo "project wheels ${PROJECT_WHEELS_DIGEST}" \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --no-deps \
        /wheelhouse/tabship_data-*.whl /wheelhouse/tabship_features-*.whl \
        /wheelhouse/tabship_models-*.whl /wheelhouse/tabship_serving-*.whl \
    && /opt/venv/bin/pip check

# BentoML creates bentos/, envs/ and tmp/ in its home at start unless they exist; made here, the
# home can stay read-only. Its Prometheus folder falls back to a temporary one under /tmp.
RUN groupadd --system --gid 10001 tabship \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/tabship --create-home \
        --shell /usr/sbin/nologin tabship \
    && mkdir -p /opt/bentoml/bentos /opt/bentoml/envs /opt/bentoml/tmp

# The serving limits, and the model store, owned by root and readable by all (BentoML writes its
# files 0600). The service writes only the prediction log, under /var/lib/tabship, and temporary
# files (both volumes in Kubernetes).
COPY configs/serving.yaml /opt/tabship/serving.yaml
# What the image's Python environment holds (CycloneDX, made by `image.py wheelhouse`).
COPY dist/sbom/serving.cdx.json /opt/tabship/sbom.cdx.json

FROM runtime
# The model store, keyed the same way: a new champion rebuilds this step (MODELS_DIGEST).
ARG MODELS_DIGEST=unset
RUN --mount=type=bind,source=dist/bento/models,target=/tmp/models \
    echo "models ${MODELS_DIGEST}" \
    && cp -R /tmp/models /opt/bentoml/models \
    && chmod -R a+rX,go-w /opt/bentoml

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BENTOML_HOME=/opt/bentoml \
    BENTOML_DO_NOT_TRACK=true \
    TABSHIP_SERVING_CONFIG=/opt/tabship/serving.yaml \
    TABSHIP_PREDICTION_LOG=/var/lib/tabship/monitoring \
    TABSHIP_PORT=3000

USER 10001:10001
WORKDIR /var/lib/tabship
EXPOSE 3000
# No curl in the image: the probe is Python's urllib. Kubernetes uses /livez and /readyz instead.
# It probes $TABSHIP_PORT, the port `serve` listens on unless --port says otherwise.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ['TABSHIP_PORT'], timeout=4)"]
ENTRYPOINT ["tabship-serving"]
CMD ["serve", "--host", "0.0.0.0"]
