"""The metadata store: one SQL database (SQLite by default, PostgreSQL by URL) for all of mlpy."""

from mlpy.store.base import Base, UTCDateTime, utcnow
from mlpy.store.engine import Store, open_store

__all__ = ["Base", "Store", "UTCDateTime", "open_store", "utcnow"]
