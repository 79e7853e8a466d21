"""PostgreSQL plumbing: migrations and the asyncpg pool."""
