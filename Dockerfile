# threadlog: one image for the web nodes, the projector and the one-shot migrate step (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    THREADLOG_VAR=/app/var

WORKDIR /app
# Only what the app needs (no .venv, var/ or .git from the checkout).
COPY pyproject.toml manage.py ./
COPY events/ events/
COPY projections/ projections/
COPY platform/ platform/
COPY frontend/ frontend/

# Editable on purpose: settings.py finds frontend/ (templates, embed.js) and var/ relative to its own file,
# so the code must stay in /app; a plain `pip install .` would put settings.py in site-packages, where
# frontend/ is not (it is not package data) and `/` fails with TemplateDoesNotExist.
RUN pip install -e . \
    && useradd --system --uid 10001 --home-dir /app threadlog \
    && mkdir -p /app/var && chown threadlog /app/var
USER threadlog

EXPOSE 8000
ENV HOST=0.0.0.0 PORT=8000
CMD ["threadlog", "serve", "--host", "0.0.0.0", "--port", "8000"]
