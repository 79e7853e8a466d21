"""SQL (asyncpg) behind the routes and the consumer: one module per table family."""
