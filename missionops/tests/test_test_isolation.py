"""The suite never touches the development database: a run of source-only tests once ended by
terminating every connection to it (the session's stray-connection cleanup ran on whatever
database its connection was on), cutting a running `make run` off."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_source_only_run_leaves_the_development_database_alone():
    name = "missionops_isolation_probe"
    admin = dict(host="127.0.0.1", user="postgres", autocommit=True)
    with psycopg.connect(dbname="postgres", **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(dbname=name, **admin) as held:  # a running application's connection
            env = {
                **os.environ,
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
                "TEST_DATABASE_NAME": f"test_{name}",
            }
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "missionops/tests/test_docs.py"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
            assert held.execute("SELECT 1").fetchone() == (1,)  # still connected
    finally:
        with psycopg.connect(dbname="postgres", **admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP DATABASE IF EXISTS "test_{name}" WITH (FORCE)')
