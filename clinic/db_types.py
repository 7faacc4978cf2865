"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend.

    PostgreSQL keeps the offset (timestamptz); SQLite drops it, so values are normalised to UTC
    before they are written and marked UTC again when read. Naive values are refused: a naive
    time is a time-zone bug waiting to happen.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class epoch_micros(FunctionElement):  # noqa: N801 - used like the SQL function it renders
    """A UTCDateTime column as integer microseconds since the Unix epoch, worked out by the
    database, for hot reads that compute on integers (availability) and would otherwise make a
    datetime per value only to turn it into an integer.

    SQLite: the stored text is naive UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]", as UTCDateTime writes
    it; whole seconds from strftime plus the fraction's digits. PostgreSQL: EXTRACT(EPOCH) is an
    exact numeric from version 14 on."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_micros"


@compiles(epoch_micros, "sqlite")
def _epoch_micros_sqlite(element, compiler, **kw):
    value = compiler.process(element.clauses, **kw)
    return (
        f"(CAST(strftime('%s', {value}) AS INTEGER) * 1000000"
        f" + CAST(substr({value}, 21, 6) AS INTEGER))"
    )


@compiles(epoch_micros, "postgresql")
def _epoch_micros_postgresql(element, compiler, **kw):
    value = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(EPOCH FROM {value}) * 1000000 AS BIGINT)"
