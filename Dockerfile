# Build the project's wheel and every dependency's in one stage; install them,
# without compilers or caches, into a slim runtime that runs as a non-root user.
# Base images are pinned to the Python minor version and the Debian release,
# so the apt package pin below stays valid; pin a digest for byte-identical builds.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
COPY features ./features
COPY training ./training
COPY models ./models
COPY stallwatch ./stallwatch
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
# libgomp1: LightGBM's OpenMP runtime, which its wheel does not bundle.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 stallwatch \
    && useradd --uid 10001 --gid 10001 --create-home stallwatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /home/stallwatch
RUN mkdir -p /home/stallwatch/var /home/stallwatch/models
# STALLWATCH_SESSION_SECRET_FILE is a path (where a generated secret is kept,
# mode 0600), not a secret: hence DL3064 is off for this one instruction.
# hadolint ignore=DL3064
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STALLWATCH_HOST=0.0.0.0 \
    STALLWATCH_LOG_FORMAT=json \
    STALLWATCH_DATABASE_URL=sqlite:////home/stallwatch/var/stallwatch.db \
    STALLWATCH_MODEL_DIR=/home/stallwatch/models \
    STALLWATCH_MLFLOW_TRACKING_URI=sqlite:////home/stallwatch/var/mlflow.db \
    STALLWATCH_SESSION_SECRET_FILE=/home/stallwatch/var/session-secret
EXPOSE 8000
# /healthz is the one route open without a key; the first start may build the
# backlog's clocks for a while, hence the start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["stallwatch", "serve"]
