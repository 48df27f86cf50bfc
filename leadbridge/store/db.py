"""Open the state store: build the engine, bring the schema to head, hand out sessions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session

from leadbridge.errors import StoreError

# Migrations live at the top of the source tree (see DESIGN.md); the package is installed
# editable by `make`, so they sit beside the package directory.
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

_upgrade_lock = threading.Lock()


def make_engine(database_url: str) -> Engine:
    """Create an engine with the settings each backend needs for safe concurrent use."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise StoreError(
            "the database URL cannot be parsed",
            hint="use sqlite:///path/state.db or postgresql+psycopg://user@host:5432/db",
        ) from None
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets readers (CLI reports) run while a sync writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to this engine (no alembic.ini needed)."""
    if not (MIGRATIONS_DIR / "env.py").exists():
        raise StoreError(
            f"the migrations folder is missing at {MIGRATIONS_DIR}",
            hint="install leadbridge from its source tree (make demo / make test do this)",
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision(engine: Engine) -> str:
    """The newest migration revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if head is None:
        raise StoreError("no migrations found", hint="reinstall leadbridge")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise _unreachable(engine, exc) from None


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to head; return (revision before, revision after)."""
    before = current_revision(engine)
    head = head_revision(engine)
    if before != head:
        with _upgrade_lock:
            try:
                command.upgrade(alembic_config(engine), "head")
            except OperationalError as exc:
                raise _unreachable(engine, exc) from None
    return before, head


def _unreachable(engine: Engine, exc: OperationalError) -> StoreError:
    shown = engine.url.render_as_string(hide_password=True)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    return StoreError(
        f"cannot open the state store {shown}: {reason}",
        hint="check state.database_url and that the database server is running",
    )


class Store:
    """The state store of one configuration: an engine and short transactional sessions."""

    def __init__(self, *, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, *, database_url: str, migrate: bool = True) -> Store:
        """Open the store, migrating to head first unless told not to."""
        engine = make_engine(database_url)
        if migrate:
            upgrade(engine)
        return cls(engine=engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on any exception."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()
