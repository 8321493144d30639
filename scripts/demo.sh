#!/usr/bin/env bash
# The README's demo command (`npm run demo`). From a fresh clone: installs dependencies, builds,
# starts the local services if they are not running, and runs the shop demo. Arguments go to
# the demo: `npm run demo -- --duration 60`, `npm run demo -- --forever`. It runs under Node 24
# (scripts/with-node fetches it into the cache when the machine has another Node).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/with-node 24 scripts/pnpm install --frozen-lockfile
scripts/with-node 24 scripts/pnpm run build
exec scripts/with-node 24 node examples/shop/dist/demo/main.js "$@"
