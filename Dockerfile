# Build a wheel in one stage, run it as a non-root user in the next.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
COPY features ./features
COPY training ./training
COPY models ./models
COPY stallwatch ./stallwatch
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 stallwatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER stallwatch
WORKDIR /home/stallwatch
ENV STALLWATCH_HOST=0.0.0.0 \
    STALLWATCH_DATABASE_URL=sqlite:////home/stallwatch/var/stallwatch.db \
    STALLWATCH_MODEL_DIR=/home/stallwatch/models
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["stallwatch", "serve"]
