# One image for every strangler process (legacy_app, plugin_app, the proxy, the operator's
# `strangler` commands); compose.yaml picks the command. The `loadtest` stage adds locust.
#
#   docker build -t strangler .                       # the apps and the proxy
#   docker build --target loadtest -t strangler:loadtest .

FROM python:3.11-slim AS app

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY pyproject.toml README.md ./
COPY core ./core
COPY legacy_app ./legacy_app
COPY plugin_app ./plugin_app
COPY proxy ./proxy
COPY strangler ./strangler
COPY flags ./flags
COPY loadtests ./loadtests
COPY dashboards ./dashboards
# Editable, so that the settings find flags/, the route map and var/ beside the packages.
RUN pip install -e . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin strangler \
    && mkdir -p /app/var /flags /run/prometheus \
    && chown strangler /app/var /flags /run/prometheus

USER strangler
EXPOSE 8000 8001 8002
CMD ["strangler", "--help"]


FROM app AS loadtest
USER root
RUN pip install -e ".[loadtest]"
USER strangler
