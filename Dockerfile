FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 hearth
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY content ./content
RUN pip install .
COPY config.example.toml ./

RUN mkdir -p /app/data && chown hearth:hearth /app/data
USER hearth
VOLUME ["/app/data"]

ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
