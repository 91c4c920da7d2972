# One image for all three services; the command picks which one runs.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-cache-dir . && useradd --system attx
USER attx
EXPOSE 8001 8002 8003
CMD ["attx", "--help"]
