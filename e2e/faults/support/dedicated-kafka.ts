import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { portOpen } from '../../support/port-open';
import { alive, assertPortsFree, BrokerProcess, waitForExit } from './broker-process';

const KAFKA_VERSION = '3.9.1';
const BROKER_PORT = 19092;
const CONTROLLER_PORT = 19093;
/** Any base64url UUID; fixed, as in scripts/services/lib/kafka.sh, so logs compare. */
const CLUSTER_ID = 'bXF0cmFpbC1mYXVsdC0wMQ';
const REPO = path.join(__dirname, '..', '..', '..');

function kafkaLibs(): string {
  const cache =
    process.env.MQTRAIL_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'mqtrail');
  return path.join(cache, `kafka-${KAFKA_VERSION}`, 'libs');
}

/**
 * A single-node KRaft Kafka of its own for a fault test, from the jars scripts/services fetched
 * (see scripts/services/lib/kafka.sh), on its own ports and log directory. The storage is
 * formatted once: a restart recovers the same logs, committed offsets and group state, as a
 * production broker does after a crash.
 */
export class DedicatedKafka {
  readonly broker = `127.0.0.1:${BROKER_PORT}`;
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtrail-fault-kafka-'));
  private readonly process = new BrokerProcess('kafka', this.dir);
  private readonly config = path.join(this.dir, 'server.properties');
  private readonly java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  private readonly classpath = `${kafkaLibs()}/*`;

  async start(): Promise<void> {
    const jar = path.join(kafkaLibs(), `kafka_2.13-${KAFKA_VERSION}.jar`);
    if (!fs.existsSync(jar)) {
      throw new Error(`Kafka ${KAFKA_VERSION} jars not found (${jar}): fetch them with scripts/services/ctl up kafka`);
    }
    await assertPortsFree('the dedicated Kafka', [BROKER_PORT, CONTROLLER_PORT]);
    this.writeConfig();
    await promisify(execFile)(
      this.java,
      [
        ...this.jvmOptions(),
        '-cp',
        this.classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        CLUSTER_ID,
        '-c',
        this.config,
      ],
      { timeout: 60_000 },
    );
    await this.boot();
  }

  /** Pid of the JVM, the process a crash takes down. */
  get pid(): number {
    return this.process.launcherPid;
  }

  /** SIGKILLs the JVM: no controlled shutdown, logs left to recover on the next start. */
  async killHard(): Promise<void> {
    if (alive(this.pid)) process.kill(this.pid, 'SIGKILL');
    await this.waitDown();
  }

  /** Waits until the JVM (killed by us or by the application under test) is gone. */
  async waitDown(): Promise<void> {
    await waitForExit(this.pid, 'kafka JVM');
  }

  /** Starts the broker again on the same log directory (no re-format). */
  async restart(): Promise<void> {
    await this.boot();
  }

  async remove(): Promise<void> {
    await this.process.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async boot(): Promise<void> {
    await this.process.start(
      this.java,
      [...this.jvmOptions(), '-cp', this.classpath, 'kafka.Kafka', this.config],
      { PATH: process.env.PATH, HOME: process.env.HOME },
      // The listener opens before the broker has caught up with its metadata; this line comes after.
      async () =>
        (await portOpen('127.0.0.1', BROKER_PORT)) &&
        fs.readFileSync(this.process.logFile, 'utf8').includes('Kafka Server started'),
    );
  }

  private jvmOptions(): string[] {
    return [
      '-Xms128m',
      '-Xmx384m',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${path.join(REPO, 'scripts', 'services', 'kafka', 'log4j.properties')}`,
    ];
  }

  private writeConfig(): void {
    fs.writeFileSync(
      this.config,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${CONTROLLER_PORT}`,
        `listeners=PLAINTEXT://127.0.0.1:${BROKER_PORT},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${BROKER_PORT}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        `log.dirs=${path.join(this.dir, 'data')}`,
        // Single node: internal topics with one replica and one partition (scripts/services does the same).
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=1',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'transaction.state.log.num.partitions=1',
        'min.insync.replicas=1',
        'group.initial.rebalance.delay.ms=0',
        'auto.create.topics.enable=false',
        'num.partitions=1',
        '',
      ].join('\n'),
    );
  }
}
