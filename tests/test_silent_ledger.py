"""A PostgreSQL ledger that goes silent in the middle of a transaction: the tick ends within its time limit, in one
line that says why; and every connection carries orch's statement, lock and idle-in-transaction bounds."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.faults


class SilentProxy:
    """A TCP proxy to the local PostgreSQL that stops forwarding, keeping both sockets open (so the kernel still
    acknowledges every packet: only a time limit in orch notices), once the client sends `trigger`."""

    def __init__(self, trigger: bytes):
        self.trigger = trigger
        self.silent = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", 5432))
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, watch: bool) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            if watch and self.trigger in data:
                self.silent.set()
            if not self.silent.is_set():
                try:
                    dst.sendall(data)
                except OSError:
                    return

    def close(self) -> None:
        for s in self.sockets:  # shut down first: a close alone leaves a socket that a thread reads from open
            for step in (lambda: s.shutdown(socket.SHUT_RDWR), s.close):
                try:
                    step()
                except OSError:
                    pass


def test_a_tick_on_a_ledger_that_goes_silent_ends_in_time_and_says_why(bare_repo, pg_url):
    r = bare_repo
    r.env["ORCH_DB"] = pg_url
    r.orch("init")
    r.set_config(tick_interval="4s", tick_grace="2s")
    proxy = SilentProxy(b"FOR UPDATE")  # the tick's write transaction: begun, then nothing comes back
    try:
        url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        t0 = time.monotonic()
        res = r.orch("tick", check=False, env={"ORCH_DB": url}, timeout=60)
        took = time.monotonic() - t0
    finally:
        proxy.close()
    assert proxy.silent.is_set()
    line = res.stderr.strip()
    assert res.returncode == 1 and len(line.splitlines()) == 1, res.stderr
    assert line.startswith("orch: the tick ran past its time limit of 6s (tick_interval + tick_grace): the ledger "
                           f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/") and "stopped answering" in line
    assert took < 6 + 8, took  # the limit, plus the start-up of a loaded machine
    # The server keeps the silent session (and its tick lock) until idle_in_transaction_session_timeout, or, as
    # here, until the proxy's sockets close; then the next tick records the failed one and works.
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    for _ in range(100):
        with engine.connect() as conn:
            if not conn.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").scalar():
                break
        time.sleep(0.1)
    engine.dispose()
    r.orch("tick")
    doc = r.orch_json("status")
    assert doc["health"]["failed_ticks"] == 1 and "stopped answering" in doc["health"]["last_failure"]


def test_every_postgres_connection_is_bounded(pg_url):
    from orchestrator.ledger.engine import make_engine

    engine = make_engine(pg_url + "?options=-c%20lock_timeout%3D5s")
    with engine.connect() as conn:
        got = {k: conn.exec_driver_sql(f"SHOW {k}").scalar()
               for k in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")}
        info = conn.connection.dbapi_connection.info.get_parameters()
    engine.dispose()
    assert got == {"statement_timeout": "1min", "lock_timeout": "5s", "idle_in_transaction_session_timeout": "1min"}
    assert info["keepalives"] == "1" and info["connect_timeout"] == "10" and info["tcp_user_timeout"] == "60000"
