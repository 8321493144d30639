import { execFile } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cleanEnv } from './npm';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** The publishable packages, by name, as `scripts/pack.sh` names their tarballs. */
export const PACKAGES = {
  core: '@mqtrail/core',
  amqplib: '@mqtrail/instrumentation-amqplib',
  kafkajs: '@mqtrail/instrumentation-kafkajs',
  register: '@mqtrail/register',
  cli: '@mqtrail/cli',
} as const;

export type PackageKey = keyof typeof PACKAGES;
export type Tarballs = Record<PackageKey, string>;

let packing: Promise<Tarballs> | undefined;

/**
 * Builds and packs the publishable packages once per test file run, with the repository's own
 * `scripts/pack.sh`, into a fresh folder under os.tmpdir(): what a user installs.
 */
export function packTarballs(): Promise<Tarballs> {
  packing ??= pack();
  return packing;
}

async function pack(): Promise<Tarballs> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'mqtrail-compat-pack-'));
  // pack.sh hands its output folder to `pnpm pack --pack-destination ../../$out` from inside each
  // package folder, so it must be relative to the repository root (an absolute path would land
  // under the repository). A relative path to the temp folder works from both places.
  const relative = path.relative(REPO_ROOT, out);
  try {
    await promisify(execFile)('bash', [path.join(REPO_ROOT, 'scripts', 'pack.sh'), relative], {
      cwd: REPO_ROOT,
      env: cleanEnv(),
      timeout: 300_000,
      maxBuffer: 32 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`scripts/pack.sh ${relative} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
  const files = await readdir(out);
  const tarballs = {} as Tarballs;
  for (const [key, name] of Object.entries(PACKAGES) as [PackageKey, string][]) {
    const file = `${name.replace('@', '').replace('/', '-')}-`;
    const found = files.filter((candidate) => candidate.startsWith(file) && /^\d/.test(candidate.slice(file.length)));
    if (found.length !== 1) throw new Error(`expected one tarball of ${name} in ${out}, found: ${files.join(', ')}`);
    tarballs[key] = path.join(out, found[0] as string);
  }
  return tarballs;
}
