/**
 * Micro-benchmark of @mqtrail/core's DuplicateDetector at steady state (full window, unique
 * identities), the case of every consumed message in production. The per-call cost should not
 * grow with `maxEntries`; the CPU profiles of the hot path (`pnpm bench --profile`) showed it does.
 *
 *   node bench/dist/micro/duplicate-detector.js
 */
import { DuplicateDetector } from '@mqtrail/core';

/** Enough for many generations of the largest detector (50,000 entries: 40), and for GC pauses to average out. */
const CHECKS = 1_000_000;

/**
 * Creation span ids as the instrumentations check them (16 hex digits, no prefix), built before the
 * clock starts and flat, as strings decoded from a message are: the loop times the check alone.
 */
function identities(count: number, from: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(Buffer.from((from + i).toString(16).padStart(16, '0')).toString());
  return ids;
}

for (const maxEntries of [1_000, 10_000, 50_000]) {
  const detector = new DuplicateDetector({ maxEntries });
  // Fill the window twice over so evictions have happened, as after a few minutes of traffic.
  for (const id of identities(maxEntries * 2, 0)) detector.check('bench-group', id);
  const timed = identities(CHECKS, maxEntries * 2);
  // Results are counted (all unique, so none should be a duplicate): a result left unused would
  // let the optimizer drop lookups whose outcome only feeds it.
  let duplicates = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < CHECKS; i++) if (detector.check('bench-group', timed[i] as string)) duplicates++;
  const nsPerCheck = Number(process.hrtime.bigint() - started) / CHECKS;
  process.stdout.write(
    `maxEntries ${String(maxEntries).padStart(6)}: ${Math.round(nsPerCheck).toLocaleString('en-US')} ns per check` +
      `${duplicates === 0 ? '' : ` (${duplicates} duplicates: expected none)`}\n`,
  );
}
