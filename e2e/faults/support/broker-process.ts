import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { portOpen } from '../../support/port-open';
import { waitFor } from '../../support/wait';

/**
 * One broker process the fault tests own: started in its own process group (so teardown reaches
 * every process it forks), its output in a log file per start, killed hard on demand. The shared
 * services of scripts/services are never touched: a dedicated broker has its own ports and data.
 */
export class BrokerProcess {
  private launcher: ChildProcess | undefined;
  private starts = 0;

  constructor(
    /** Named in errors and log files, e.g. `rabbitmq`. */
    readonly name: string,
    private readonly dir: string,
  ) {}

  /** Log file of the latest start (each start gets its own, so a restart's output is not mixed in). */
  get logFile(): string {
    return `${this.dir}/${this.name}-${this.starts}.log`;
  }

  /** Starts `command`; `ready` decides when the broker serves. Throws with the log's tail if it never does. */
  async start(
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    ready: () => Promise<boolean>,
    timeoutMs = 90_000,
  ): Promise<void> {
    if (this.launcher !== undefined && this.launcher.exitCode === null && this.launcher.signalCode === null) {
      throw new Error(`${this.name}: already running`);
    }
    this.starts++;
    const log = fs.openSync(this.logFile, 'w');
    const launcher = spawn(command, args, { env, detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.launcher = launcher;
    let exited = false;
    launcher.once('exit', () => {
      exited = true;
    });
    try {
      await waitFor(
        `${this.name} to start (log: ${this.logFile})`,
        async () => {
          if (exited) throw new Error(`${this.name} exited while starting`);
          return (await ready()) ? true : undefined;
        },
        { timeoutMs, intervalMs: 200 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n---- ${this.logFile} ----\n${this.logTail()}`);
    }
  }

  /** Pid of the process `start` spawned (for Kafka, the JVM; for RabbitMQ, its launcher script). */
  get launcherPid(): number {
    const pid = this.launcher?.pid;
    if (pid === undefined) throw new Error(`${this.name}: not started`);
    return pid;
  }

  /** Kills every process of the broker's group and waits until the launcher is gone. */
  async stop(): Promise<void> {
    const launcher = this.launcher;
    if (launcher?.pid === undefined) return;
    const gone = new Promise<void>((resolve) => {
      if (launcher.exitCode !== null || launcher.signalCode !== null) resolve();
      else launcher.once('exit', () => resolve());
    });
    try {
      process.kill(-launcher.pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
    await gone;
  }

  logTail(lines = 40): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** True while a process with this pid exists (a zombie counts as gone for our purposes once reaped). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `pid` is gone: the hard kill has really happened before the outage is timed. */
export function waitForExit(pid: number, what: string): Promise<true> {
  return waitFor(`${what} (pid ${pid}) to exit`, async () => (alive(pid) ? undefined : true), {
    timeoutMs: 15_000,
    intervalMs: 50,
  });
}

/**
 * Fails with a message that names the port and the broker if anything listens on one of `ports`:
 * a dedicated broker must never bind (or be confused with) a port in use.
 */
export async function assertPortsFree(what: string, ports: number[]): Promise<void> {
  for (const port of ports) {
    if (await portOpen('127.0.0.1', port)) {
      throw new Error(
        `${what} needs 127.0.0.1:${port}, but something listens there (a leftover from an earlier run? ` +
          `find it with: ss -ltnp 'sport = :${port}')`,
      );
    }
  }
}
