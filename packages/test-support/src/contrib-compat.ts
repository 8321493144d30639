import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contribPackageDir, typeErrors } from './typecheck';

/** A compile takes a second or two alone, several beside the other suites. */
const COMPILE_TIMEOUT_MS = 60_000;

/**
 * Switching from contrib is drop-in for TypeScript: code that compiles against contrib's typings
 * compiles against mqtrail's with only the import changed. `packageDir` is the instrumentation's
 * folder; its `src/test-support/contrib-usage.ts` is code written for contrib, importing `../index`.
 */
export function describeContribCompat(contribName: string, packageDir: string): void {
  const usage = path.join(packageDir, 'src', 'test-support', 'contrib-usage.ts');
  const contrib = contribPackageDir(contribName, packageDir);
  describe(`code written for ${contribName} ${contrib.version}`, () => {
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
}
