# Image for every Python process of the distributed stack (compose.yaml):
# the API (`market serve`), migrations (`market db upgrade`) and the payment mock
# (`python -m paymock`). Later: `market worker` and `market scheduler`.
#
# Two stages: the build stage installs the project (no dev/test extras) into a venv;
# the runtime stage copies only that venv, so no source tree or build tooling ships.

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import pathlib, tomllib; \
deps = tomllib.loads(pathlib.Path('pyproject.toml').read_text())['project']['dependencies']; \
pathlib.Path('/tmp/requirements.txt').write_text('\n'.join(deps) + '\n')" \
 && pip install -r /tmp/requirements.txt

# Then the project itself (the packages listed in [tool.setuptools.packages.find]).
COPY README.md ./
COPY market ./market
COPY search ./search
COPY workers ./workers
COPY paymock ./paymock
RUN pip install --no-deps . \
 && market --help > /dev/null


FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/venv/bin:${PATH}"

RUN groupadd --system --gid 10001 market \
 && useradd --system --uid 10001 --gid market --home-dir /app --shell /usr/sbin/nologin market \
 && mkdir -p /app /data \
 && chown market:market /app /data

COPY --from=build /opt/venv /opt/venv

# /data is where file-backed state lives (the payment mock's SQLite database); a named
# volume mounted there starts out owned by the non-root user.
WORKDIR /app
USER market

EXPOSE 8000

# No curl in the slim image: probe with the standard library. urlopen raises (exit 1)
# on a connection error or any non-2xx status. Services other than the API override this.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

CMD ["market", "serve", "--host", "0.0.0.0", "--port", "8000"]
