#!/usr/bin/env bash
# `scripts/pnpm run pack`: builds and packs exactly the publishable packages (every package under
# packages/ that is not private) into .pack/, one tarball each, with `workspace:` versions replaced
# by real ones. Install them together, as the README shows:
#   npm install /path/to/mqtrail/.pack/*.tgz
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.pack}
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
scripts/pnpm run build >/dev/null
# --filter with a path glob plus `private` excluded by pnpm itself would also need a name list;
# reading `private` here keeps one rule: a package is published unless it says it is private.
for dir in packages/*/; do
  if node -e 'process.exit(require(process.argv[1]).private ? 1 : 0)' "$PWD/$dir/package.json"; then
    (cd "$dir" && ../../scripts/pnpm pack --pack-destination "$out" >/dev/null)
  fi
done
ls "$out"
