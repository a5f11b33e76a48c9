# rxcheck: the HTTP API by default; any rxcheck command can be run instead:
#   docker build -t rxcheck .
#   docker run -p 8000:8000 -v rxcheck-data:/data -e RXCHECK_API_KEYS=secret rxcheck
#   docker run --rm rxcheck rxcheck check https://some-pharmacy.example/
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    RXCHECK_DB=/data/rxcheck.sqlite

WORKDIR /app
COPY pyproject.toml README.md ./
COPY checker ./checker
COPY api ./api
COPY rules ./rules
RUN pip install . && useradd --create-home --uid 10001 rxcheck && mkdir -p /data && chown rxcheck /data

USER rxcheck
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["rxcheck", "serve", "--host", "0.0.0.0", "--port", "8000"]
