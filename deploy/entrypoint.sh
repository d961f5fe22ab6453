#!/bin/sh
# Runs one process of the system by name, with the production server settings (uvloop, httptools; the gateway's
# protocol is httptools with its express lane, gateway/express.py);
# `migrate` applies every process's migrations, `backup dump|verify|restore …` is deploy/backup.py.
set -e
PROCESSES="gateway intake eligibility calculation disbursement migrate backup"
case "$1" in
  gateway)
    exec uvicorn --factory gateway.app:create_app --host 0.0.0.0 --port "${PORT:-8000}" --no-access-log \
      --loop uvloop --http gateway.express:ExpressProtocol --workers "${WORKERS:-1}" ;;
  intake|eligibility|calculation|disbursement)
    exec uvicorn --factory "services.$1.app:create_app" --host 0.0.0.0 --port "${PORT:-8000}" --no-access-log \
      --loop uvloop --http httptools --workers "${WORKERS:-1}" ;;
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
