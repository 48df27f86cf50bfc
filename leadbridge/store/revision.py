"""Developer helper: autogenerate a migration from the models against a scratch SQLite store."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from leadbridge.store.db import alembic_config, make_engine


def main(argv: list[str]) -> int:
    """Create a new revision file whose body is the diff between migrations and models."""
    if len(argv) != 1:
        print('usage: python -m leadbridge.store.revision "message"', file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        config = alembic_config(engine)
        command.upgrade(config, "head")
        command.revision(config, message=argv[0], autogenerate=True)
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
