import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { portOpen } from '../../support/port-open';
import { waitFor } from '../../support/wait';
import { alive, assertPortsFree, BrokerProcess, waitForExit } from './broker-process';

const RABBITMQ_BIN = process.env.RABBITMQ_BIN ?? '/usr/lib/rabbitmq/bin';
const NODE = 'mqtrail-fault@localhost';
const AMQP_PORT = 5673;
const DIST_PORT = 25673;
/** The epmd scripts/services runs for the shared node; this node registers there too. */
const EPMD_PORT = 4369;

/**
 * A RabbitMQ node of its own for a fault test, from the same Debian package scripts/services runs
 * (see scripts/services/lib/rabbitmq.sh), on its own ports and data directory, with no plugins.
 * Unlike the shared node its database survives a restart: durable queues and persistent messages
 * come back, as they do after a production broker crashes.
 */
export class DedicatedRabbitmq {
  readonly url = `amqp://guest:guest@127.0.0.1:${AMQP_PORT}`;
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtrail-fault-rabbitmq-'));
  private readonly broker = new BrokerProcess('rabbitmq', this.dir);
  private readonly pidFile = path.join(this.dir, 'beam.pid');

  async start(): Promise<void> {
    if (!fs.existsSync(path.join(RABBITMQ_BIN, 'rabbitmq-server'))) {
      throw new Error(`${RABBITMQ_BIN}/rabbitmq-server not found: install Debian's rabbitmq-server (scripts/services)`);
    }
    // Erlang would start an epmd of its own with -daemon, which outlives the test.
    if (!(await portOpen('127.0.0.1', EPMD_PORT))) {
      throw new Error(`no epmd on 127.0.0.1:${EPMD_PORT}: start the shared services first (scripts/services/ctl up)`);
    }
    await assertPortsFree('the dedicated RabbitMQ', [AMQP_PORT, DIST_PORT]);
    this.writeConfig();
    await this.boot();
  }

  /**
   * Declares a durable queue and makes sure the declaration is on disk. RabbitMQ 3.x keeps queue
   * definitions in Mnesia, whose transaction log is written with a delayed write of up to about
   * two seconds: a SIGKILL soon after a declaration can lose the queue, and with it every
   * persistent message it held (seen here about one kill in six). `mnesia:sync_log()` flushes that
   * log, so what the crash then tests is the clients, not how recent the declaration was.
   */
  async declareDurableQueue(queue: string): Promise<void> {
    const connection = await amqp.connect(this.url);
    try {
      await (await connection.createChannel()).assertQueue(queue, { durable: true });
    } finally {
      await connection.close();
    }
    await promisify(execFile)(path.join(RABBITMQ_BIN, 'rabbitmqctl'), ['-n', NODE, 'eval', 'mnesia:sync_log().'], {
      env: { ...this.env(), RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}' },
      timeout: 60_000,
    });
  }

  /** Pid of the Erlang VM (beam.smp), the process a crash takes down. */
  get pid(): number {
    const pid = Number(fs.readFileSync(this.pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`rabbitmq: no pid in ${this.pidFile}`);
    return pid;
  }

  /** SIGKILLs the VM: no clean shutdown, no connection.close to the clients. */
  async killHard(): Promise<void> {
    const pid = this.pid;
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    await this.waitDown();
  }

  /** Waits until the VM (killed by us or by the application under test) and its launcher are gone. */
  async waitDown(): Promise<void> {
    await waitForExit(this.pid, 'rabbitmq beam.smp');
    // The launcher script exits once its `wait` returns; only then may the next start run.
    await waitForExit(this.broker.launcherPid, 'rabbitmq launcher');
  }

  /** Starts the node again on the same database (a real restart: nothing is reset). */
  async restart(): Promise<void> {
    await this.boot();
  }

  /** Kills whatever is left and removes the data directory. */
  async remove(): Promise<void> {
    await this.broker.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async boot(): Promise<void> {
    fs.rmSync(this.pidFile, { force: true });
    await this.broker.start(
      path.join(RABBITMQ_BIN, 'rabbitmq-server'),
      [],
      this.env(),
      // The AMQP listener opens last in the boot, after the queues are recovered.
      async () => fs.existsSync(this.pidFile) && (await portOpen('127.0.0.1', AMQP_PORT)),
    );
    await waitFor('rabbitmq pid file', async () => (fs.readFileSync(this.pidFile, 'utf8').trim() ? true : undefined));
  }

  private env(): NodeJS.ProcessEnv {
    const d = this.dir;
    return {
      PATH: process.env.PATH,
      // Erlang reads its cookie from $HOME: a private one for this node.
      HOME: path.join(d, 'home'),
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      RABBITMQ_NODENAME: NODE,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(AMQP_PORT),
      RABBITMQ_DIST_PORT: String(DIST_PORT),
      RABBITMQ_MNESIA_BASE: path.join(d, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(d, 'logs'),
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(d, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: path.join(d, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: path.join(d, 'advanced.config'),
      RABBITMQ_CONF_ENV_FILE: path.join(d, 'rabbitmq-env.conf'),
      RABBITMQ_PID_FILE: this.pidFile,
      // As scripts/services: distribution on loopback, no scheduler busy-waiting on 2 shared cores.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS:
        '-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none',
      ERL_EPMD_ADDRESS: '127.0.0.1',
    };
  }

  private writeConfig(): void {
    const d = this.dir;
    fs.mkdirSync(path.join(d, 'home'), { recursive: true });
    fs.mkdirSync(path.join(d, 'logs'), { recursive: true });
    fs.writeFileSync(path.join(d, 'home', '.erlang.cookie'), randomBytes(20).toString('hex'), { mode: 0o400 });
    fs.writeFileSync(path.join(d, 'rabbitmq-env.conf'), '');
    fs.writeFileSync(path.join(d, 'enabled_plugins'), '[].\n');
    fs.writeFileSync(path.join(d, 'advanced.config'), '[].\n');
    fs.writeFileSync(
      path.join(d, 'rabbitmq.conf'),
      [
        `listeners.tcp.default = 127.0.0.1:${AMQP_PORT}`,
        'loopback_users.guest = true',
        'log.console = true',
        'log.console.level = info',
        'log.file = false',
        '',
      ].join('\n'),
    );
  }
}
