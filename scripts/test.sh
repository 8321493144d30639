#!/usr/bin/env bash
# The README's test command (`npm test`). From a fresh clone it installs the dependencies,
# builds every package, starts the real services the e2e suite needs (scripts/services) and runs
# every suite: unit and e2e. Services are left running so the next run starts at once;
# `scripts/services/ctl down` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/pnpm install --frozen-lockfile
scripts/pnpm run build
scripts/services/ctl up
scripts/pnpm exec vitest run
