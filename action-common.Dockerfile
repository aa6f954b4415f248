# One runtime image for imgpub: the library and CLI plus the two external tools its stages
# use (qemu-img from qemu-utils, skopeo). Usable as a Docker action image
# (`image: docker://...`, args = `<stage> --flags`) or directly:
#   docker build -f action-common.Dockerfile -t imgpub .
#   docker run --rm imgpub --help
#
# GitHub's Docker-action rules apply: no USER (the action must run as root to write to the
# mounted GITHUB_WORKSPACE), no WORKDIR (the runner mounts the workspace and makes it the
# working directory), and an exec-form ENTRYPOINT with an absolute path.

# python:3.12-slim (3.12.14, Debian 13 "trixie"), pinned by its multi-arch index digest so a
# re-tag cannot change the OS layer under us. Dependabot has no docker entry for this file's
# unusual name; bump deliberately: docker buildx imagetools inspect python:3.12-slim
FROM python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Versions are pinned to the trixie upstream release with a wildcard for Debian revisions,
# so security rebuilds (+deb13uN, +bN) are picked up but a new upstream release is a change
# someone makes on purpose.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        qemu-utils=1:10.0.* \
        skopeo=1.18.* \
    && rm -rf /var/lib/apt/lists/* \
    && qemu-img --version \
    && skopeo --version

# Only what the wheel is built from (pyproject names README.md as the long description).
# The cloud extras only: the sandbox (moto, fakes) is for rehearsals, not for this image.
COPY pyproject.toml README.md /opt/imgpub-src/
COPY lib /opt/imgpub-src/lib
RUN pip install --no-cache-dir "/opt/imgpub-src[aws,azure,github,oci]" \
    && rm -rf /opt/imgpub-src \
    && imgpub --help

ENTRYPOINT ["/usr/local/bin/imgpub"]
