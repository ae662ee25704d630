#!/usr/bin/env bash
# Makes sure the machine has what the test suite talks to: Debian's chromium (browser tests),
# curl + jq (shell-client tests), docker-registry + skopeo + umoci + htpasswd (registry tests) and a running PostgreSQL at 127.0.0.1:5432 (store tests).
# Runs before `npm test`; installs only what is missing (needs root, as on CI machines).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v pg_isready >/dev/null 2>&1 || missing+=(postgresql)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v umoci >/dev/null 2>&1 || missing+=(umoci)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
if ((${#missing[@]})); then
  echo "ensure-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "ensure-deps: starting PostgreSQL"
  for v in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
psql -h 127.0.0.1 -U postgres -tAc "select 1" test >/dev/null 2>&1 || \
  psql -h 127.0.0.1 -U postgres -c "create database test" >/dev/null 2>&1 || true
