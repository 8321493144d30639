import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/**
 * The environment for npm and for the apps: this test's, with the Node that runs the test first
 * on PATH, and without what would make them behave differently from a user's shell: npm settings
 * inherited from pnpm (`npm_config_*`), NODE_OPTIONS / NODE_PATH, and OpenTelemetry variables.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|NODE_OPTIONS$|NODE_PATH$|OTEL_|MQTRAIL_)/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = [path.dirname(process.execPath), env.PATH].filter(Boolean).join(path.delimiter);
  return { ...env, ...extra };
}

/** How to run npm with the Node running this test: `node …/npm-cli.js` when npm on PATH is that script. */
function npmCommand(): [string, string[]] {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'npm');
    if (!dir || !existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    return real.endsWith('.js') ? [process.execPath, [real]] : [candidate, []];
  }
  throw new Error('npm is not on PATH');
}

export interface CommandResult {
  code: number;
  output: string;
  durationMs: number;
}

/** Runs npm in `cwd`; resolves with its exit code and its stdout and stderr together. */
export function npm(cwd: string, args: string[], timeoutMs = 300_000): Promise<CommandResult> {
  const [command, prefix] = npmCommand();
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      command,
      [...prefix, ...args],
      { cwd, env: cleanEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}`, durationMs: Date.now() - started });
      },
    );
  });
}

export interface AppSpec {
  /** Folder name prefix, e.g. `sdk2`. */
  name: string;
  type: 'module' | 'commonjs';
  dependencies: Record<string, string>;
  /** Files of e2e/compat/fixtures copied into the app folder. */
  files: string[];
}

export interface InstalledApp {
  dir: string;
  spec: AppSpec;
  install: CommandResult;
}

const FIXTURES = path.join(__dirname, '..', 'fixtures');

/**
 * Creates a fresh application under os.tmpdir() — its own package.json, the fixture files — and
 * installs it with plain `npm install` (no --legacy-peer-deps, no --force), from the machine's npm
 * cache where it can. Outside the workspace, nothing can resolve from the workspace's node_modules.
 */
export async function createApp(spec: AppSpec): Promise<InstalledApp> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `mqtrail-compat-${spec.name}-`));
  const packageJson = { name: `mqtrail-compat-${spec.name}`, version: '1.0.0', private: true, type: spec.type };
  await writeFile(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ ...packageJson, dependencies: spec.dependencies }, null, 2)}\n`,
  );
  for (const file of spec.files) await copyFile(path.join(FIXTURES, file), path.join(dir, file));
  const install = await npm(dir, ['install', '--no-audit', '--no-fund', '--prefer-offline']);
  return { dir, spec, install };
}

/** Fails with npm's own output when the install did not succeed. */
export function assertInstalled(app: InstalledApp): void {
  if (app.install.code !== 0) {
    throw new Error(`npm install in ${app.dir} exited with ${app.install.code}:\n${app.install.output}`);
  }
}

export interface ResolvedPackage {
  /** Package root folder. */
  dir: string;
  version: string;
}

/**
 * Which copy of `name` Node's resolution finds when required from `fromDir` (a folder of the
 * app or of one of its packages), and its version. Undefined when it does not resolve.
 */
export async function resolvePackage(fromDir: string, name: string): Promise<ResolvedPackage | undefined> {
  let entry: string;
  try {
    entry = createRequire(path.join(fromDir, 'noop.js')).resolve(name);
  } catch {
    return undefined;
  }
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const json = JSON.parse(await readFile(file, 'utf8')) as { name?: string; version?: string };
    if (json.name === name) return { dir, version: String(json.version) };
  }
  return undefined;
}

/** Every installed copy of `name` under the app's node_modules (nested ones included), by folder. */
export async function installedCopies(appDir: string, name: string): Promise<ResolvedPackage[]> {
  const copies: ResolvedPackage[] = [];
  const visit = async (nodeModules: string): Promise<void> => {
    const candidate = path.join(nodeModules, name, 'package.json');
    if (existsSync(candidate)) {
      const json = JSON.parse(await readFile(candidate, 'utf8')) as { version?: string };
      copies.push({ dir: path.dirname(candidate), version: String(json.version) });
    }
    for (const entry of await readdir(nodeModules, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const packages = entry.name.startsWith('@')
        ? (await readdir(path.join(nodeModules, entry.name), { withFileTypes: true }))
            .filter((scoped) => scoped.isDirectory())
            .map((scoped) => path.join(nodeModules, entry.name, scoped.name))
        : [path.join(nodeModules, entry.name)];
      for (const pkg of packages) {
        const nested = path.join(pkg, 'node_modules');
        if (existsSync(nested)) await visit(nested);
      }
    }
  };
  await visit(path.join(appDir, 'node_modules'));
  return copies;
}
