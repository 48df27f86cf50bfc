"""State store: SQLModel tables on SQLite (default) or PostgreSQL, versioned by Alembic."""
