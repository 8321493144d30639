#!/usr/bin/env bash
# The README's demo command (`npm run demo`). From a fresh clone: installs dependencies, builds,
# starts the local services if they are not running, and runs the shop demo. Arguments go to
# the demo: `npm run demo -- --duration 60`, `npm run demo -- --forever`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/pnpm install --frozen-lockfile
scripts/pnpm run build
exec node examples/shop/dist/demo/main.js "$@"
