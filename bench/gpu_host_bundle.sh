#!/bin/bash
# Builds .gpurun/ (git-ignored) for a bare GPU host that has Python 3.12,
# NumPy, CuPy and nvidia-ml-py but no PostgreSQL, Redis or project packages (this workplace's lent
# H200 machine): the project's pinned requirements as cp312 wheels (NumPy and PyYAML left to the
# host), this machine's PostgreSQL 15 binaries and Redis server with the shared libraries they load
# (glibc and libstdc++ left to the host), packed to fit the 64 MiB a call may carry.
# Then: device run `bash bench/gpu_host_run.sh`, carry [".gpurun"].
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpurun && mkdir -p .gpurun/whl .gpurun/redis
.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 \
  -d .gpurun/whl -r requirements/base.txt
rm -f .gpurun/whl/numpy-* .gpurun/whl/pyyaml-*
R=.gpurun/pgroot
mkdir -p $R/usr/lib/postgresql/15/bin $R/usr/lib/postgresql/15/lib $R/usr/share/postgresql $R/libs
cp /usr/lib/postgresql/15/bin/{postgres,initdb,pg_ctl,pg_isready} $R/usr/lib/postgresql/15/bin/
(cd /usr/lib/postgresql/15/lib && find . -maxdepth 1 -name '*.so' ! -name llvmjit.so -exec cp {} "$OLDPWD/$R/usr/lib/postgresql/15/lib/" \;)
cp -r /usr/share/postgresql/15 $R/usr/share/postgresql/
for f in $R/usr/lib/postgresql/15/bin/* $R/usr/lib/postgresql/15/lib/*.so; do ldd "$f" | awk '/=>/ {print $3}'; done |
  sort -u | grep -v -E '/(libc|libm|ld-linux|libresolv|libpthread|libdl|librt|libstdc\+\+|libgcc_s)\.so' |
  while read -r lib; do cp -L "$lib" $R/libs/; done
tar -C .gpurun -cJf .gpurun/pgroot.tar.xz pgroot && rm -rf $R
cp -L "$(command -v redis-server)" .gpurun/redis/redis-server
ldd .gpurun/redis/redis-server | awk '/=>/ {print $3}' | grep -E '/(libatomic|liblzf|libjemalloc)\.so' |
  while read -r lib; do cp -L "$lib" .gpurun/redis/; done
du -sh .gpurun
