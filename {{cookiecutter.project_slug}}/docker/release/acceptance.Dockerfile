# The acceptance tests: pytest and requests, calling the release over HTTP as any client would.
# Built by Compose (docker/common.yml). Arguments given to `compose run acceptance` go to pytest.
ARG PYTHON_IMAGE=python:{{ cookiecutter.python_version }}-slim
FROM ${PYTHON_IMAGE}

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY tests/acceptance/requirements.txt /acceptance/requirements.txt
ARG APP_UID
RUN python -m venv /opt/venv \
    && pip install --no-deps -r /acceptance/requirements.txt \
    && useradd --uid "$APP_UID" --user-group --no-create-home --shell /usr/sbin/nologin tester \
    && install -d -o tester -g tester /reports
COPY tests/acceptance /acceptance

WORKDIR /acceptance
USER ${APP_UID}
ENTRYPOINT ["pytest", "-p", "no:cacheprovider", "--junitxml=/reports/acceptance.xml"]
