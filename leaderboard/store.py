"""The leaderboard's store: SQLite by default, any SQLAlchemy URL (PostgreSQL for a hosted
board), versioned migrations, safe under concurrent submissions.

Each submission is one row holding its validated document (metadata and results, as the
schema describes them), its policy if any, and its verification; `submission_tasks` indexes
which tasks it scores. A submission lands once: its digest is unique.

SQLite: every transaction begins IMMEDIATE (takes the write lock at once, so two writers
queue instead of deadlocking), the journal is WAL (readers do not block the writer), and a
busy writer is waited for up to `BUSY_TIMEOUT_S` (opening a board is retried that long when
SQLite refuses it as locked without waiting).

Migrations are ordered functions; `schema_version` records the last one applied. A new
schema is a new function appended to `MIGRATIONS` (never an edit of an old one), and the
table definitions below describe the newest version. Alembic would do this too, but its
script folder and configuration are for applications that own their deployment; a store a
pip-installed command creates by itself needs only these ordered steps.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from leaderboard.submission import Submission

BUSY_TIMEOUT_S = 120.0

metadata = sa.MetaData()
schema_version = sa.Table(
    "schema_version", metadata, sa.Column("version", sa.Integer, nullable=False)
)
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("submitted_at", sa.String(40), nullable=False),
    sa.Column("method", sa.String(200), nullable=False),
    sa.Column("protocol", sa.String(20), nullable=False),
    sa.Column("suite_hash", sa.String(64), nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("policy", sa.LargeBinary, nullable=True),
    sa.Column("verified", sa.Boolean, nullable=False, default=False),
    sa.Column("verification", sa.Text, nullable=True),
)
submission_tasks = sa.Table(
    "submission_tasks",
    metadata,
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
    sa.Column("task", sa.String(100), nullable=False, index=True),
    sa.PrimaryKeyConstraint("submission_id", "task"),
)


def _migration_1(connection: sa.Connection) -> None:
    """The first schema: submissions and the tasks each one scores. (It creates the tables
    defined above, which are version 1; the migration that first changes them must freeze
    these version-1 definitions here.)"""
    for table in (submissions, submission_tasks):
        table.create(connection)


MIGRATIONS: list[Callable[[sa.Connection], None]] = [_migration_1]


class StoreError(RuntimeError):
    pass


class DuplicateSubmission(StoreError):
    def __init__(self, existing: int) -> None:
        self.existing = existing
        super().__init__(f"this submission is on the board already, as #{existing}")


@dataclass(frozen=True)
class Entry:
    id: int
    submitted_at: str
    metadata: dict[str, Any]
    results: dict[str, Any]
    has_policy: bool
    verified: bool
    verification: dict[str, Any] | None

    @property
    def method(self) -> str:
        return self.metadata["method"]

    @property
    def tasks(self) -> list[str]:
        return self.results["tasks"]

    @property
    def interface(self) -> str:
        """The action interface its episodes were run through (entries stored before
        interfaces were declared were all `excitation`)."""
        return self.results["agent"].get("action_interface", "excitation")


def default_location() -> str:
    """`$CROSSMIMIC_LEADERBOARD`, else the user's data folder."""
    if os.environ.get("CROSSMIMIC_LEADERBOARD"):
        return os.environ["CROSSMIMIC_LEADERBOARD"]
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return str(Path(base) / "crossmimic" / "leaderboard.sqlite")


def _url(location: str | Path) -> str:
    text = str(location)
    if "://" in text:
        return text
    path = Path(text).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class Store:
    """A leaderboard database (see the module docstring); opening it migrates it."""

    def __init__(self, location: str | Path | None = None) -> None:
        self.url = _url(location or default_location())
        if self.url.startswith("sqlite"):
            self.engine = sa.create_engine(self.url, connect_args={"timeout": BUSY_TIMEOUT_S})
            _sqlite_transactions(self.engine)
        else:
            self.engine = sa.create_engine(self.url)
        try:
            self._migrate_when_free()
        except sa.exc.DatabaseError as error:  # not a database, or a damaged one
            reason = str(error.orig).splitlines()[0] if error.orig else str(error)
            raise StoreError(
                f"{self.url}: not a leaderboard database this crossmimic can read ({reason}); "
                "point --store at another file, or restore this one from a backup"
            ) from None

    def _migrate_when_free(self) -> None:
        """`migrate`, retried while SQLite answers "database is locked": a connection that
        opens a new database as others do (switching it to WAL) can be refused at once,
        without the busy handler's wait (seen with 8 processes submitting to a new board)."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self.migrate()
                return
            except sa.exc.OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() > deadline:
                    raise
                self.engine.dispose()  # the refused connection is not reused
                time.sleep(random.uniform(0.01, 0.1))

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as connection:
            yield connection

    # -- migrations ---------------------------------------------------------------------------
    def version(self) -> int:
        with self._transaction() as connection:
            return self._version(connection)

    def _version(self, connection: sa.Connection) -> int:
        if not sa.inspect(connection).has_table("schema_version"):
            return 0
        return int(
            connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
        )

    def migrate(self) -> int:
        """Apply the migrations this database lacks, in one transaction; the new version."""
        with self._transaction() as connection:
            current = self._version(connection)
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"{self.url}: schema version {current} is newer than this crossmimic's "
                    f"{len(MIGRATIONS)}; upgrade crossmimic to use this board"
                )
            if current == 0:
                schema_version.create(connection)
            for number in range(current + 1, len(MIGRATIONS) + 1):
                MIGRATIONS[number - 1](connection)
                connection.execute(schema_version.insert().values(version=number))
            return len(MIGRATIONS)

    # -- writing ------------------------------------------------------------------------------
    def add(self, submission: Submission) -> int:
        """Store a validated submission; its id. Raises `DuplicateSubmission`."""
        results = submission.results
        row = {
            "digest": submission.digest,
            "submitted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "method": submission.metadata["method"],
            "protocol": results["protocol"],
            "suite_hash": results["suite_hash"],
            "document": json.dumps(submission.document, allow_nan=True),
            "policy": submission.policy,
            "verified": False,
        }
        with self._transaction() as connection:
            existing = connection.execute(
                sa.select(submissions.c.id).where(submissions.c.digest == row["digest"])
            ).scalar()
            if existing is not None:
                raise DuplicateSubmission(existing)
            identifier = connection.execute(
                submissions.insert().values(**row)
            ).inserted_primary_key[0]
            connection.execute(
                submission_tasks.insert(),
                [{"submission_id": identifier, "task": task} for task in results["tasks"]],
            )
        return int(identifier)

    def set_verification(self, identifier: int, verified: bool, report: dict[str, Any]) -> None:
        with self._transaction() as connection:
            updated = connection.execute(
                submissions.update()
                .where(submissions.c.id == identifier)
                .values(verified=verified, verification=json.dumps(report, allow_nan=True))
            ).rowcount
        if not updated:
            raise StoreError(f"{self.url}: no submission #{identifier}")

    # -- reading ------------------------------------------------------------------------------
    def entries(self, task: str | None = None) -> list[Entry]:
        """Every submission (or those scoring `task`), oldest first."""
        query = sa.select(submissions).order_by(submissions.c.id)
        if task is not None:
            scored = sa.select(submission_tasks.c.submission_id).where(
                submission_tasks.c.task == task
            )
            query = query.where(submissions.c.id.in_(scored))
        with self._transaction() as connection:
            return [_entry(row) for row in connection.execute(query).mappings()]

    def entry(self, identifier: int) -> Entry:
        with self._transaction() as connection:
            row = (
                connection.execute(sa.select(submissions).where(submissions.c.id == identifier))
                .mappings()
                .first()
            )
        if row is None:
            raise StoreError(f"{self.url}: no submission #{identifier}")
        return _entry(row)

    def policy(self, identifier: int) -> bytes | None:
        with self._transaction() as connection:
            return connection.execute(
                sa.select(submissions.c.policy).where(submissions.c.id == identifier)
            ).scalar()


def _entry(row: Any) -> Entry:
    document = json.loads(row["document"])
    return Entry(
        id=int(row["id"]),
        submitted_at=row["submitted_at"],
        metadata=document["metadata"],
        results=document["results"],
        has_policy=row["policy"] is not None,
        verified=bool(row["verified"]),
        verification=json.loads(row["verification"]) if row["verification"] else None,
    )


def _sqlite_transactions(engine: sa.Engine) -> None:
    """IMMEDIATE transactions and WAL on SQLite (the pysqlite driver's own transaction
    handling is turned off, as SQLAlchemy's documentation recommends for this)."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
