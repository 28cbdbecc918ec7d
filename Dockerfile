# Production image: one image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=attendance_portal.settings.production
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir . && useradd --system --home /app app \
    && SECRET_KEY=build DATABASE_URL=postgres://x@localhost/x REDIS_URL=redis://localhost ALLOWED_HOSTS=x \
       python manage.py collectstatic --no-input
USER app
EXPOSE 8000
# The web server's settings (workers, recycling, preloading) are gunicorn.conf.py's, the ones the load test measures.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "attendance_portal.wsgi"]
