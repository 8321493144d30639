import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AmqplibInstrumentation } from '../instrumentation';
import type { AmqplibInstrumentationConfig, AmqpMessage } from '../types';
import { type Defs, FakeBroker, type FakeConnection, type RawChannel } from './fake-broker';
import { createTelemetry, type Telemetry } from './otel';

const requireHere = createRequire(__filename);

/** amqplib versions every unit suite runs against (installed under pnpm aliases). */
export const VARIANTS = [
  { label: 'amqplib 0.10.9', module: 'amqplib-0.10' },
  { label: 'amqplib 1.2', module: 'amqplib-1' },
  // The last release whose own close handling drops function slots (fixed in 2.2.1).
  { label: 'amqplib 2.2.0', module: 'amqplib-2.2' },
  { label: 'amqplib 2.3', module: 'amqplib' },
] as const;
export type Variant = (typeof VARIANTS)[number];

type Fn = (...args: unknown[]) => unknown;
type Constructor = new (connection: FakeConnection) => Record<string, Fn>;

export interface LoadedAmqplib {
  version: string;
  root: string;
  defs: Defs;
  ChannelModel: Constructor;
  CallbackModel: Constructor;
  /** `lib/codec.js` `encodeTable`, to check mqtrail's size estimate against the real encoder. */
  encodeTable: (buffer: Buffer, table: object, offset: number) => number;
}

export function loadAmqplib(variant: Variant): LoadedAmqplib {
  const root = path.dirname(requireHere.resolve(variant.module));
  const lib = (file: string) => requireHere(path.join(root, 'lib', file)) as Record<string, unknown>;
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    version,
    root,
    defs: lib('defs.js') as unknown as Defs,
    ChannelModel: lib('channel_model.js').ChannelModel as Constructor,
    CallbackModel: lib('callback_model.js').CallbackModel as Constructor,
    encodeTable: lib('codec.js').encodeTable as LoadedAmqplib['encodeTable'],
  };
}

/**
 * Applies the instrumentation's file patches to one amqplib installation, as the require hook
 * would, and returns the function that removes them.
 */
export function patch(loaded: LoadedAmqplib, instrumentation: AmqplibInstrumentation): () => void {
  const undo: (() => void)[] = [];
  for (const definition of instrumentation.getModuleDefinitions()) {
    for (const file of definition.files) {
      const exports = requireHere(path.join(loaded.root, file.name.replace(/^amqplib\//, '')));
      file.patch(exports, loaded.version);
      undo.push(() => file.unpatch(exports, loaded.version));
    }
  }
  return () => {
    for (const step of undo) step();
  };
}

/** An amqplib channel as the tests drive it: every public method, untyped, plus the frame entry points. */
export type AmqpChannel = RawChannel & Record<string, Fn> & { consumers: Map<string, Fn> };

/** One surface over the promise and the callback API, so each behaviour is written once. */
export interface Api {
  name: 'promise' | 'callback';
  open(loaded: LoadedAmqplib, connection: FakeConnection, confirm?: boolean): Promise<AmqpChannel>;
  consume(
    channel: AmqpChannel,
    queue: string,
    handler: (message: AmqpMessage | null) => unknown,
    options?: object,
  ): Promise<string>;
  get(channel: AmqpChannel, queue: string, options?: object): Promise<AmqpMessage | false>;
  close(channel: AmqpChannel): Promise<void>;
}

function callback<T>(run: (done: (error: unknown, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    run((error, value) => (error === null || error === undefined ? resolve(value as T) : reject(error)));
  });
}

export const APIS: Api[] = [
  {
    name: 'promise',
    async open(loaded, connection, confirm = false) {
      const model = new loaded.ChannelModel(connection);
      const open = confirm ? model.createConfirmChannel : model.createChannel;
      return (await open?.call(model)) as AmqpChannel;
    },
    async consume(channel, queue, handler, options = {}) {
      const ok = (await channel.consume?.(queue, handler, options)) as { consumerTag: string };
      return ok.consumerTag;
    },
    async get(channel, queue, options = {}) {
      return (await channel.get?.(queue, options)) as AmqpMessage | false;
    },
    async close(channel) {
      await channel.close?.();
    },
  },
  {
    name: 'callback',
    open(loaded, connection, confirm = false) {
      const model = new loaded.CallbackModel(connection);
      const open = confirm ? model.createConfirmChannel : model.createChannel;
      return callback<AmqpChannel>((done) => open?.call(model, done));
    },
    async consume(channel, queue, handler, options = {}) {
      const ok = await callback<{ consumerTag: string }>((done) => channel.consume?.(queue, handler, options, done));
      return ok.consumerTag;
    },
    get(channel, queue, options = {}) {
      return callback<AmqpMessage | false>((done) => channel.get?.(queue, options, done));
    },
    close(channel) {
      return callback<void>((done) => channel.close?.(done));
    },
  },
];

export interface Harness {
  telemetry: Telemetry;
  loaded: LoadedAmqplib;
  instrumentation: AmqplibInstrumentation;
  broker: FakeBroker;
  connection: FakeConnection;
  /** Fresh telemetry, broker and config, and the patches applied; call in beforeEach. */
  setUp(config?: AmqplibInstrumentationConfig): void;
  /** Removes the patches; call in afterEach. */
  tearDown(): void;
}

export function harness(variant: Variant): Harness {
  const telemetry = createTelemetry();
  const loaded = loadAmqplib(variant);
  // Disabled: no require hook; `patch` applies the module-file patches directly.
  const instrumentation = new AmqplibInstrumentation({ enabled: false });
  instrumentation.setTracerProvider(telemetry.tracerProvider);
  let unpatch = () => {};
  const state: Harness = {
    telemetry,
    loaded,
    instrumentation,
    broker: new FakeBroker(loaded.defs),
    connection: undefined as unknown as FakeConnection,
    setUp(config = {}) {
      telemetry.reset();
      instrumentation.setConfig({ ...config, enabled: false });
      instrumentation.setMeterProvider(telemetry.meterProvider);
      state.broker = new FakeBroker(loaded.defs);
      state.connection = state.broker.connect();
      unpatch = patch(loaded, instrumentation);
    },
    tearDown() {
      unpatch();
      unpatch = () => {};
    },
  };
  return state;
}

/** Resolves once `predicate` holds, checking after each turn of the event loop. */
export async function until(predicate: () => boolean, what = 'condition'): Promise<void> {
  for (let turn = 0; turn < 1_000; turn++) {
    if (predicate()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`${what} never became true`);
}
