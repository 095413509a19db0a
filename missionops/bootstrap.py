"""Pre-flight for `make run` / `make test`: are PostgreSQL and Redis up, and does the database exist?

Runs before Django is configured, so it reads the same environment variables directly.
Exit status 1 with one clear sentence (and the command that fixes it) when something is missing.
"""

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlparse

import environ
import psycopg
import redis
from psycopg import sql

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def ensure_secret_key(env_file: Path) -> None:
    """The settings refuse to start without SECRET_KEY: give this checkout a random one, once."""
    existing = env_file.read_text() if env_file.exists() else ""
    if os.environ.get("SECRET_KEY") or any(line.startswith("SECRET_KEY=") for line in existing.splitlines()):
        return
    with env_file.open("a") as out:
        out.write(
            ("\n" if existing and not existing.endswith("\n") else "") + f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        )
    print(f"wrote a random SECRET_KEY to {env_file}")


def main() -> int:
    env_file = Path(__file__).resolve().parent.parent / ".env"
    ensure_secret_key(env_file)
    if env_file.exists():
        environ.Env.read_env(env_file)
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/missionops")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    db = urlparse(database_url)
    dbname = db.path.lstrip("/") or "missionops"
    server = dict(
        host=db.hostname or "127.0.0.1",
        port=db.port or 5432,
        user=db.username or "postgres",
        password=db.password,
        connect_timeout=3,
    )
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
                print(f"created database {dbname}")
    except psycopg.OperationalError:
        print(
            f"PostgreSQL is not reachable at {server['host']}:{server['port']}; start it with: {START_POSTGRES}",
            file=sys.stderr,
        )
        return 1
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError:
        print(f"Redis is not reachable at {redis_url}; start it with: {START_REDIS}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
