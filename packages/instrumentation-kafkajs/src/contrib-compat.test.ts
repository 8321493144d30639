import path from 'node:path';
import { contribPackageDir, typeErrors } from '@mqtrail/test-support';
import { describe, expect, it } from 'vitest';

const usage = path.join(__dirname, 'test-support', 'contrib-usage.ts');
const contrib = contribPackageDir('@opentelemetry/instrumentation-kafkajs', path.join(__dirname, '..'));

// Switching from contrib is drop-in for TypeScript: code that compiles against contrib's typings
// compiles against mqtrail's with only the import changed. A compile takes a second or two alone,
// several beside the other suites.
const COMPILE_TIMEOUT_MS = 60_000;

describe(`code written for @opentelemetry/instrumentation-kafkajs ${contrib.version}`, () => {
  it(
    'compiles against contrib’s typings (so the usage file is really contrib code)',
    () => {
      expect(typeErrors(usage, { from: '../index', to: contrib.dir })).toEqual([]);
    },
    COMPILE_TIMEOUT_MS,
  );

  it(
    'compiles against mqtrail with only the import changed',
    () => {
      expect(typeErrors(usage)).toEqual([]);
    },
    COMPILE_TIMEOUT_MS,
  );
});
