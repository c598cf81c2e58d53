# The training image: `tabship-models train` (raw data -> gated champion in MLflow), as user 10001.
#
# Build from the repository root after `python docker/image.py wheelhouse`:
#   docker build -f docker/training.Dockerfile --build-arg BASE_IMAGE=python:3.11-slim-bookworm .
# It carries configs/ at /work, the project folder, and no data: mount the raw files read-only
# (docker run -v "$PWD/data/raw:/work/data/raw:ro" IMAGE), or the whole checkout to keep its MLflow
# store too (docker run -v "$PWD:/work" IMAGE). Data baked into an image is copied into every
# registry and node that pulls it, stays in its layers after it is deleted, and ties the image to
# one snapshot of the data.
# Python packages come only from dist/wheelhouse (no index), pinned and hash-checked by uv.lock.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

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
        --require-hashes --requirement /wheelhouse/requirements-training.txt

ARG PROJECT_WHEELS_DIGEST=unset
RUN --mount=type=bind,source=dist/wheelhouse,target=/wheelhouse \
    echo "project wheels ${PROJECT_WHEELS_DIGEST}" \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --no-deps \
        /wheelhouse/tabship_data-*.whl /wheelhouse/tabship_features-*.whl \
        /wheelhouse/tabship_models-*.whl \
    && /opt/venv/bin/pip check

RUN groupadd --system --gid 10001 tabship \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/tabship --create-home \
        --shell /usr/sbin/nologin tabship

# The project folder: the job writes data/processed, mlruns and artifacts beside configs. The
# raw data is mounted at /work/data/raw when the job runs, never copied in.
COPY --chown=10001:10001 configs /work/configs
# What the image's Python environment holds (CycloneDX, made by `image.py wheelhouse`).
COPY dist/sbom/training.cdx.json /opt/tabship/sbom.cdx.json
RUN install -d -o 10001 -g 10001 /work /work/data /work/data/raw

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/tmp/matplotlib

USER 10001:10001
WORKDIR /work
# A batch job, not a server: success is exit code 0 (a Kubernetes Job's completion), so no probe.
HEALTHCHECK NONE
ENTRYPOINT ["tabship-models"]
CMD ["train"]
