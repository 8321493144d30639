#!/usr/bin/env bash
# The README's test command (`npm test`). From a fresh clone it fetches the Node.js lines mqtrail
# supports (scripts/with-node: from the npm registry into the cache), installs the dependencies,
# builds every package, starts the real services the e2e suite needs (scripts/services) and runs:
#   - the lint (biome, and the type check of tests and scripts), so main cannot go red
#     on formatting or types while every test passes;
#   - the unit suite on Node 22, 24 and 26;
#   - the whole e2e suite on Node 24 (the LTS most users deploy), which includes the compatibility
#     suite (e2e/compat: packed tarballs installed into fresh applications);
#   - the compatibility suite again on Node 22.
# Services are left running so the next run starts at once; `scripts/services/ctl down` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."

main=24
scripts/with-node "$main" scripts/pnpm install --frozen-lockfile
scripts/with-node "$main" scripts/pnpm run build
scripts/services/ctl up

echo "== lint"
scripts/with-node "$main" scripts/pnpm run lint

for line in 22 26; do
  echo "== unit suite on Node $line"
  scripts/with-node "$line" scripts/pnpm exec vitest run --project unit
done
echo "== unit and e2e suites on Node $main"
scripts/with-node "$main" scripts/pnpm exec vitest run
echo "== compatibility e2e on Node 22"
scripts/with-node 22 scripts/pnpm exec vitest run --project e2e e2e/compat
