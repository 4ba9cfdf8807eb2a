#!/bin/sh
# SeaweedFS for compose: writes the S3 identities file from the compose secrets (the same files
# the services read), then runs the same `weed mini` as `make up`, bound for the network.
set -eu

access_key=$(cat /run/secrets/s3_access_key)
secret_key=$(cat /run/secrets/s3_secret_key)
case "$access_key$secret_key" in
  *'"'* | *'\'*) echo "S3 keys must not contain quotes or backslashes" >&2; exit 1 ;;
esac

umask 077
config=/tmp/s3-config.json
printf '{"identities":[{"name":"securact","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
  "$access_key" "$secret_key" > "$config"

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
