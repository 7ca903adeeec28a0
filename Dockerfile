# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint (letters as PDF): Pango, HarfBuzz subsetting (fast font embedding) and fonts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, from pyproject.toml only, so code changes do not reinstall them.
# (pyproject has `packages = []`: installing the project installs just its dependencies.)
COPY pyproject.toml ./
RUN pip install . && rm -rf build *.egg-info

COPY . .
# A throwaway key just for collectstatic: the real one comes from the environment at run time.
RUN DEBUG=0 SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
      python manage.py collectstatic --noinput -v 0 \
 && DEBUG=0 SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv -v 0 \
 && useradd --create-home --uid 1000 app \
 && mkdir -p var/media \
 && chown -R app:app var

USER app
EXPOSE 8000
CMD ["gunicorn", "attendance_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", \
     "--timeout", "120", "--access-logfile", "-"]
