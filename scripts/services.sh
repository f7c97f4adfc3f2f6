#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis that the tests use are running on
# 127.0.0.1, starting them with the machine's own commands when they are down.
# Tests never mock these: they talk to the real servers.
set -uo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  echo "services: starting PostgreSQL" >&2
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! redis_up; then
  echo "services: starting Redis" >&2
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi

status=0
pg_up || { echo "services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; status=1; }
redis_up || { echo "services: Redis is not reachable on 127.0.0.1:6379" >&2; status=1; }
exit $status
