# One image for api, worker and beat.
FROM python:3.11-slim-bookworm AS assets
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/build-assets.sh scripts/
RUN mkdir -p app/static && bash scripts/build-assets.sh

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BWV_DATA_DIR=/data
# Pango and a font for WeasyPrint (the compliance summary's PDF pack); the video pipeline's wheels carry their own.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 bwv && mkdir -p /data && chown bwv /data
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app app
COPY workers workers
COPY alembic alembic
COPY --from=assets /src/app/static/vendor app/static/vendor
RUN pip install --no-cache-dir .
USER bwv
EXPOSE 8000
CMD ["uvicorn", "app.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
