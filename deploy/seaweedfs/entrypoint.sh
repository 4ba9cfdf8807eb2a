#!/bin/sh
# SeaweedFS for compose: writes the S3 identities file from the environment (so the keys live in
# one place, the compose .env), then runs the same `weed mini` as `make up`, bound for the network.
set -eu

: "${SECURACT_S3_ACCESS_KEY:?set SECURACT_S3_ACCESS_KEY}"
: "${SECURACT_S3_SECRET_KEY:?set SECURACT_S3_SECRET_KEY}"
case "$SECURACT_S3_ACCESS_KEY$SECURACT_S3_SECRET_KEY" in
  *'"'* | *'\'*) echo "S3 keys must not contain quotes or backslashes" >&2; exit 1 ;;
esac

umask 077
config=/tmp/s3-config.json
printf '{"identities":[{"name":"securact","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
  "$SECURACT_S3_ACCESS_KEY" "$SECURACT_S3_SECRET_KEY" > "$config"

exec /usr/bin/weed mini \
  -dir=/data \
  -ip=127.0.0.1 \
  -ip.bind=0.0.0.0 \
  -master.telemetry=false \
  -admin.ui=false \
  -webdav=false \
  -s3.port.iceberg=0 \
  -s3.port.lance=0 \
  -s3.port=8333 \
  -s3.config="$config"
