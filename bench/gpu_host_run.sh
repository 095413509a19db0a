#!/bin/bash
# On a bare GPU host, from .gpurun/ (bench/gpu_host_bundle.sh): PostgreSQL and Redis started
# locally, the project on its cp312 wheels, then bench/gpu.py and bench/jobs.py (tile rounds on CuPy).
set -x
cd "$(dirname "$0")/.."
cat /etc/os-release | head -2; nproc
[ -d /tmp/site/django ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpurun/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site
mkdir -p /tmp/pg && tar -C /tmp/pg -xJf .gpurun/pgroot.tar.xz || exit 1
export LD_LIBRARY_PATH=/tmp/pg/pgroot/libs
B=/tmp/pg/pgroot/usr/lib/postgresql/15/bin
ldd $B/postgres | grep "not found"
mkdir -p /tmp/pgdata /tmp/pgsock && chown -R 65534:65534 /tmp/pgdata /tmp/pgsock /tmp/pg
AS_PG="setpriv --reuid=65534 --regid=65534 --clear-groups env LD_LIBRARY_PATH=$LD_LIBRARY_PATH"  # initdb refuses root
[ -f /tmp/pgdata/PG_VERSION ] || $AS_PG $B/initdb -D /tmp/pgdata -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/tmp/initdb.log 2>&1 || { tail -20 /tmp/initdb.log; exit 1; }
$AS_PG $B/pg_ctl -D /tmp/pgdata status || $AS_PG $B/pg_ctl -D /tmp/pgdata -l /tmp/pgsock/pg.log -w -o "-c listen_addresses=127.0.0.1 -c port=5432 -k /tmp/pgsock -c max_connections=200 -c jit=off" start || { tail -30 /tmp/pgsock/pg.log; exit 1; }
(LD_LIBRARY_PATH=$PWD/.gpurun/redis:$LD_LIBRARY_PATH .gpurun/redis/redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no --daemonize yes && sleep 0.5 && python3 -c "import redis; print('redis', redis.Redis().ping())") || echo "no redis"
python3 -c "import psycopg; print(psycopg.connect('postgres://postgres@127.0.0.1:5432/postgres').execute('select version()').fetchone())"
nvidia-smi --query-gpu=name,memory.total,utilization.gpu,temperature.gpu --format=csv
export PYTHONUNBUFFERED=1 LOG_LEVEL=WARNING
timeout 100 python3 bench/gpu.py --sizes 512 2048 4096 --tiles 3
timeout 400 python3 bench/jobs.py --jobs 2000 --tiles 24 --tile-px 4096 --tile-workers 2 2>&1 | grep -v "live publish" | tail -25
