#!/bin/sh
# Runs one process of the system by name, with its production server settings (deploy/serve.py: uvloop, httptools,
# the gateway's express lane and scheduling, a listening socket per worker);
# `migrate` applies every process's migrations, `backup dump|verify|restore …` is deploy/backup.py.
set -e
PROCESSES="gateway intake eligibility calculation disbursement migrate backup"
case "$1" in
  gateway|intake|eligibility|calculation|disbursement)
    exec python -m deploy.serve "$1" --host 0.0.0.0 --port "${PORT:-8000}" --workers "${WORKERS:-1}" ;;
  migrate)
    for service in intake eligibility calculation disbursement; do python -m "services.$service" migrate; done
    exec python -m gateway migrate ;;
  backup)
    shift
    exec python -m deploy.backup "$@" ;;
  *)
    echo "usage: fundflow {$(echo $PROCESSES | tr ' ' '|')}" >&2
    exit 64 ;;
esac
