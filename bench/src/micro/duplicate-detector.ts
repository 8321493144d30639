/**
 * Micro-benchmark of @mqtrail/core's DuplicateDetector at steady state (full window, unique
 * identities), the case of every consumed message in production. The per-call cost should not
 * grow with `maxEntries`; the CPU profiles of the hot path (`pnpm bench --profile`) showed it does.
 *
 *   node bench/dist/micro/duplicate-detector.js
 */
import { DuplicateDetector } from '@mqtrail/core';

const CHECKS = 100_000;

function identity(sequence: number): string {
  return `span:${sequence.toString(16).padStart(16, '0')}`;
}

for (const maxEntries of [1_000, 10_000, 50_000]) {
  const detector = new DuplicateDetector({ maxEntries });
  let sequence = 0;
  // Fill the window twice over so evictions have happened, as after a few minutes of traffic.
  while (sequence < maxEntries * 2) detector.check('bench-group', identity(sequence++));
  const started = process.hrtime.bigint();
  for (let i = 0; i < CHECKS; i++) detector.check('bench-group', identity(sequence++));
  const nsPerCheck = Number(process.hrtime.bigint() - started) / CHECKS;
  process.stdout.write(
    `maxEntries ${String(maxEntries).padStart(6)}: ${Math.round(nsPerCheck).toLocaleString('en-US')} ns per check\n`,
  );
}
