import { type ChildProcess, spawn } from 'node:child_process';
import { onJsonLines } from '../../support/json-lines';
import { cleanEnv } from './npm';

export interface AppExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One process of an installed app, started with the Node running the test, its cwd the app folder.
 * It reports with one JSON object per line on stdout and runs until its stdin is closed.
 */
export class AppProcess {
  readonly child: ChildProcess;
  readonly messages: Record<string, unknown>[] = [];
  private stderrText = '';
  private stdoutText = '';
  readonly exited: Promise<AppExit>;

  constructor(
    readonly label: string,
    dir: string,
    args: string[],
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, args, { cwd: dir, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdoutText += chunk;
    });
    onJsonLines(this.child.stdout, (message) => this.messages.push(message));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrText += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** What the process wrote, for failure messages. */
  describe(): string {
    return `${this.label} (pid ${this.child.pid})\n--- stdout\n${this.stdoutText.slice(-4_000)}\n--- stderr\n${this.stderrText.slice(-8_000)}`;
  }

  /** The first report that has `key`, once the process printed it. */
  async waitFor<T>(key: string, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let exit: AppExit | undefined;
    void this.exited.then((value) => {
      exit = value;
    });
    for (;;) {
      const found = this.messages.find((message) => key in message);
      if (found !== undefined) return found[key] as T;
      if (exit !== undefined) {
        throw new Error(
          `${this.label} exited (${exit.code ?? exit.signal}) before reporting "${key}"\n${this.describe()}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`${this.label} reported no "${key}" within ${timeoutMs} ms\n${this.describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Closes stdin (the app's signal to close its clients, flush and exit); kills it if it does not exit in time. */
  async stop(timeoutMs = 30_000): Promise<AppExit> {
    this.child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<AppExit>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve({ code: null, signal: 'SIGKILL' });
      }, timeoutMs);
    });
    const exit = await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return exit;
  }
}
