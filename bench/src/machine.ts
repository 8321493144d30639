import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** 1-minute load average when the run started and ended: a busy machine shows here. */
  loadAverage: { start: number; end?: number };
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage: { start: round2(os.loadavg()[0] ?? Number.NaN) },
  };
}

export function currentLoad(): number {
  return round2(os.loadavg()[0] ?? Number.NaN);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Installed version of a package, found from its entry point upwards: some packages (amqplib)
 * do not export their package.json.
 */
export function packageVersion(name: string): string {
  try {
    let folder = dirname(require.resolve(name));
    for (let depth = 0; depth < 6; depth++) {
      const manifest = join(folder, 'package.json');
      if (existsSync(manifest)) {
        const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
        if (parsed.name === name) return parsed.version ?? 'unknown';
      }
      folder = dirname(folder);
    }
  } catch {
    // Not installed or not built: reported as such.
  }
  return 'not installed';
}

export const REPORTED_PACKAGES = [
  'kafkajs',
  'amqplib',
  '@opentelemetry/instrumentation-kafkajs',
  '@opentelemetry/instrumentation-amqplib',
  '@mqtrail/instrumentation-kafkajs',
  '@mqtrail/instrumentation-amqplib',
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/instrumentation',
] as const;

export function packageVersions(): Record<string, string> {
  return Object.fromEntries(REPORTED_PACKAGES.map((name) => [name, packageVersion(name)]));
}
