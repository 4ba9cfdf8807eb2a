# syntax=docker/dockerfile:1.7
# One image recipe for the six services: `--build-arg SERVICE=<name>` installs that service (and
# the shared kernel) only, and the image runs its `securact-<name>` entry point as a non-root user.
#   docker build --build-arg SERVICE=delivery -t securact-ng/delivery .
# Exact versions: a rebuild gets the same toolchain (bump them deliberately).
ARG PYTHON_VERSION=3.11.13
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# --- build: resolve from uv.lock into /opt/venv ------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<identity|consent|delivery|notify|audit|retention>" >&2; exit 1; }
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src

# Third-party dependencies first: this layer is reused until uv.lock or a pyproject changes.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/pyproject.toml
COPY services/identity/pyproject.toml services/identity/pyproject.toml
COPY services/consent/pyproject.toml services/consent/pyproject.toml
COPY services/delivery/pyproject.toml services/delivery/pyproject.toml
COPY services/notify/pyproject.toml services/notify/pyproject.toml
COPY services/audit/pyproject.toml services/audit/pyproject.toml
COPY services/retention/pyproject.toml services/retention/pyproject.toml
COPY tools/devstack/pyproject.toml tools/devstack/pyproject.toml
COPY tools/witness/pyproject.toml tools/witness/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package "securact-${SERVICE}"

# Then our code, installed as regular (non-editable) packages.
COPY shared shared
COPY services services
COPY tools tools
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "securact-${SERVICE}"

# --- runtime: the virtualenv only, no uv, no sources, no compiler -------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
ARG SERVICE
RUN groupadd --system --gid 10001 securact \
 && useradd --system --uid 10001 --gid securact --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin securact \
 && mkdir -p /var/lib/securact/var/keys \
 && chmod 0700 /var/lib/securact/var/keys \
 && chown -R securact:securact /var/lib/securact
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SECURACT_SERVICE=${SERVICE} \
    SECURACT_HTTP_HOST=0.0.0.0 \
    SECURACT_DATA_DIR=/var/lib/securact
WORKDIR /var/lib/securact
USER securact:securact
# `exec`: the service replaces the shell as PID 1, so `docker stop`'s SIGTERM reaches it.
ENTRYPOINT ["/bin/sh", "-c", "exec \"securact-${SECURACT_SERVICE}\" \"$@\"", "securact"]
