#!/usr/bin/env bash
# `make run`: runs the node command given as arguments and, when no identity
# provider is configured (OIDC_ISSUER empty), the development one beside it
# (dev/oidc/provider.mjs, never for production), stopped when the node stops.
#
#   OIDC_ISSUER   the citizens' OpenID Connect provider; empty: start the dev one
#   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET_FILE, OIDC_DOCUMENT_CLAIM
#                 quipu's registration there (needed with OIDC_ISSUER; the dev
#                 provider's are quipu-dev, DATA/dev-oidc/client-secret and
#                 documento_identidad)
#   OIDC_LISTEN   where the dev provider listens (default 127.0.0.1:8081)
#   DATA, LISTEN  the node's data directory and address, as given to the node
#
# SIGINT or SIGTERM (Ctrl-C) is passed to the node as SIGTERM, so it drains as
# `quipu serve` does; the provider is stopped after the node has exited.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data=${DATA:-./quipu-data}
listen=${LISTEN:-127.0.0.1:8080}
oidc_listen=${OIDC_LISTEN:-127.0.0.1:8081}
[[ $# -gt 0 ]] || { echo "usage: $0 NODE-COMMAND [ARGS...]" >&2; exit 2; }

if [[ -n "${OIDC_ISSUER:-}" ]]; then
  [[ -n "${OIDC_CLIENT_ID:-}" && -n "${OIDC_CLIENT_SECRET_FILE:-}" ]] || {
    echo "quipu: OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET_FILE" >&2
    exit 2
  }
  echo "quipu: identity provider $OIDC_ISSUER (OIDC_ISSUER); no development provider started"
  exec "$@" --oidc-issuer "$OIDC_ISSUER" --oidc-client-id "$OIDC_CLIENT_ID" \
    --oidc-client-secret-file "$OIDC_CLIENT_SECRET_FILE" \
    --oidc-document-claim "${OIDC_DOCUMENT_CLAIM:-document_number}"
fi

node "$root/dev/oidc/provider.mjs" --listen "$oidc_listen" --data "$data/dev-oidc" \
  --redirect-uri "http://$listen/aprobar/callback" &
oidc_pid=$!
trap 'kill -TERM "$oidc_pid" 2>/dev/null || true; wait "$oidc_pid" 2>/dev/null || true' EXIT

# Up when it answers discovery; a provider that exits (port taken, a bad key
# file) stops the run before the node starts.
discovery="http://$oidc_listen/.well-known/openid-configuration"
for _ in $(seq 100); do
  if ! kill -0 "$oidc_pid" 2>/dev/null; then
    echo "quipu: the development identity provider did not start (see above)" >&2
    exit 1
  fi
  curl -fsS -o /dev/null "$discovery" 2>/dev/null && break
  sleep 0.1
done
echo "quipu: no OIDC_ISSUER given: DEVELOPMENT identity provider at http://$oidc_listen" \
  "(make run OIDC_ISSUER=https://... for a real one)"

"$@" --oidc-issuer "http://$oidc_listen" --oidc-client-id quipu-dev \
  --oidc-client-secret-file "$data/dev-oidc/client-secret" --oidc-document-claim documento_identidad &
node_pid=$!
trap 'kill -TERM "$node_pid" 2>/dev/null || true' INT TERM
status=0
wait "$node_pid" || status=$?
# A trapped signal ends `wait` early: wait again while the node drains.
while kill -0 "$node_pid" 2>/dev/null; do
  status=0
  wait "$node_pid" || status=$?
done
exit "$status"
