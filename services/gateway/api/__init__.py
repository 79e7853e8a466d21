"""The REST and streaming API (FastAPI): thin routes over the repositories."""
