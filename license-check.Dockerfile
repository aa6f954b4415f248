# The runtime image of the license-check hook that ecr-mirror injects into Helm charts:
# `imgpub license-check` and boto3, nothing else (no skopeo, no qemu). It runs as a
# Kubernetes Job, so unlike action-common.Dockerfile it runs as a non-root user, with a
# numeric UID so that runAsNonRoot can be verified. Build and push it to the product's
# repository, then pass its reference as ecr-mirror's license-check-image:
#   docker build -f license-check.Dockerfile -t <registry>/<repo>:<version> .

# python:3.12-slim, pinned by its multi-arch index digest (the same as action-common's).
FROM python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

COPY pyproject.toml README.md /opt/imgpub-src/
COPY lib /opt/imgpub-src/lib
RUN pip install --no-cache-dir "/opt/imgpub-src[aws]" \
    && rm -rf /opt/imgpub-src \
    && imgpub license-check --help > /dev/null

USER 65532:65532
ENTRYPOINT ["/usr/local/bin/imgpub", "license-check"]
