#!/usr/bin/env bash
# Makes sure a RabbitMQ broker answers on 127.0.0.1:5672: starts it when installed, installs it
# from the OS packages when missing and root, otherwise stops with what to install.
set -euo pipefail

say() { printf '[rabbitmq] %s\n' "$*"; }
listening() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if listening; then exit 0; fi

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "RabbitMQ is not installed. Install it (Debian: apt-get install rabbitmq-server) or"
    say "point SECURACT_AMQP_URL at a running broker, then run this again."
    exit 1
  fi
  say "installing rabbitmq-server with apt"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
fi

if command -v rabbitmqctl >/dev/null 2>&1 && rabbitmqctl -q status >/dev/null 2>&1; then
  # The node runs but its app was stopped (rabbitmqctl stop_app): start it again.
  rabbitmqctl -q start_app || true
else
  say "starting rabbitmq-server"
  rabbitmq-server -detached || true
fi

for _ in $(seq 1 60); do
  if listening; then say "ready on 127.0.0.1:5672"; exit 0; fi
  sleep 1
done
say "RabbitMQ did not open 127.0.0.1:5672 within 60 s"
exit 1
