"""SQLite persistence: the whole backend is pickled into one row, flushed by a background
thread shortly after changes and at stop. Simple and crash-safe enough for an emulator."""

from __future__ import annotations

import os
import pickle
import sqlite3
import threading

from emulator.models import Backend


class Store:
    def __init__(self, data_dir: str):
        os.makedirs(data_dir, exist_ok=True)
        self.path = os.path.join(data_dir, "emulator.sqlite")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved_generation = -1
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS backend (id INTEGER PRIMARY KEY, data BLOB)")

    def _connect(self):
        return sqlite3.connect(self.path)

    def load(self) -> Backend:
        with self._connect() as db:
            row = db.execute("SELECT data FROM backend WHERE id = 1").fetchone()
        backend = pickle.loads(row[0]) if row else Backend()
        self._saved_generation = backend.generation
        return backend

    def save(self, backend: Backend) -> None:
        with backend.lock:
            if backend.generation == self._saved_generation:
                return
            data = pickle.dumps(backend, protocol=pickle.HIGHEST_PROTOCOL)
            gen = backend.generation
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO backend (id, data) VALUES (1, ?)", (data,))
        self._saved_generation = gen

    def start_flusher(self, backend: Backend, every: float = 1.0) -> None:
        def loop():
            while not self._stop.wait(every):
                self.save(backend)

        self._thread = threading.Thread(target=loop, name="sp-emulator-store", daemon=True)
        self._thread.start()

    def close(self, backend: Backend) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.save(backend)
