"""The suite's SQL databases are what they claim: a real PostgreSQL server beside
SQLite, a fresh empty database per test, and a dev server that restarts with its data."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from deploy.postgres import PostgresDevServer, free_port, fresh_database


async def test_each_database_is_fresh_empty_and_real(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            if make_url(database_url).get_backend_name() == "postgresql":
                version = await conn.scalar(text("select version()"))
                database = await conn.scalar(text("select current_database()"))
            else:
                version = "SQLite " + str(await conn.scalar(text("select sqlite_version()")))
                database = None
    finally:
        await engine.dispose()

    assert tables == []
    if make_url(database_url).get_backend_name() == "postgresql":
        assert str(version).startswith("PostgreSQL "), version
        assert database == make_url(database_url).database != "postgres"
    else:
        assert str(version).startswith("SQLite 3.")


@pytest.mark.postgres
async def test_a_fresh_database_is_dropped_afterwards(postgres_server: str) -> None:
    async with fresh_database(postgres_server, "hub_test") as url:
        name = make_url(url).database

    engine = create_async_engine(postgres_server)
    try:
        async with engine.connect() as conn:
            names = (await conn.scalars(text("select datname from pg_database"))).all()
    finally:
        await engine.dispose()
    assert name not in names


@pytest.mark.postgres
async def test_the_dev_server_restarts_with_its_data_on_its_port() -> None:
    server = PostgresDevServer(free_port(), durable=False)
    await asyncio.to_thread(server.start)
    try:
        async with fresh_database(server.url, "kept") as url:
            engine = create_async_engine(url)
            try:
                async with engine.begin() as conn:
                    await conn.execute(text("create table lots (id text primary key)"))
                    await conn.execute(text("insert into lots values ('DW-M-50402')"))
                    listening = await conn.scalar(text("show listen_addresses"))
                await asyncio.to_thread(server.restart)
                await engine.dispose()  # the restart cut the pooled connection
                async with engine.connect() as conn:
                    kept = (await conn.scalars(text("select id from lots"))).all()
            finally:
                await engine.dispose()
    finally:
        await asyncio.to_thread(server.stop)

    assert listening == "127.0.0.1"
    assert kept == ["DW-M-50402"]
    assert server.home is not None and not server.home.exists()  # a temporary home goes
