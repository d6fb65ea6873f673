# Container image of the operator. Three stages on the same Python base:
#   wheels - builds the project's wheel and the wheels of its pinned dependencies;
#   venv   - installs only those wheels into /opt/venv, with no network and no compiler;
#   final  - the base image, the virtual environment and a non-root user.
# Build: docker build -t ovh-nodepool-operator:0.1.0 .
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS wheels
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
# The first command builds the project's wheel alone; the second resolves its dependencies
# from PyPI and writes their wheels next to it.
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && python -m pip wheel --no-cache-dir --wheel-dir /wheels /wheels/ovh_nodepool_operator-*.whl

FROM ${PYTHON_IMAGE} AS venv
COPY --from=wheels /wheels /wheels
# --no-index installs exactly the wheels built above. pip itself is removed afterwards, because
# the operator never installs anything at run time.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links=/wheels \
        /wheels/ovh_nodepool_operator-*.whl \
    && /opt/venv/bin/pip uninstall --yes pip

FROM ${PYTHON_IMAGE}
# Kopf names itself after the user (getpass.getuser), which fails for a UID with no passwd
# entry, so the UID that Kubernetes runs as (runAsUser 10001) gets one.
RUN groupadd --gid 10001 operator \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin operator
COPY --from=venv /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
# 8080: Kopf's liveness endpoint /healthz (OVHNP_HEALTH_PORT); 9090: Prometheus metrics
# (OVHNP_METRICS_PORT).
EXPOSE 8080 9090
ENTRYPOINT ["ovh-nodepool-operator"]
CMD ["run"]
