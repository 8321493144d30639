import {
  type AnyFunction,
  assertSdkGeneration,
  claimClient,
  DuplicateDetector,
  MessagingMetrics,
  type MethodPatch,
  type Shim,
  unwrapAll,
  wrapAll,
} from '@mqtrail/core';
import type { Tracer } from '@opentelemetry/api';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
} from '@opentelemetry/instrumentation';
import { emit } from './channel-events';
import { connect } from './connect';
import { consume, getCallback, getPromise } from './consume';
import type { AmqplibContext } from './context';
import { confirmPublish, publish } from './publish';
import { ack, ackAll, nack, nackAll, reject } from './settle';
import { type AmqplibInstrumentationConfig, type ResolvedAmqplibConfig, resolveConfig } from './types';

const PACKAGE_NAME = '@mqtrail/instrumentation-amqplib';
const PACKAGE_VERSION = '0.1.0';

/** amqplib versions this package is tested with (0.10.9, 1.2 and 2.x in this repository's tests). */
export const SUPPORTED_VERSIONS = ['>=0.10.0 <3'];

type Exports = Record<string, unknown>;
type Prototype = Record<string, AnyFunction>;

function prototypeOf(exports: Exports, className: string): Prototype | undefined {
  const candidate = exports[className];
  return typeof candidate === 'function' ? (candidate.prototype as Prototype) : undefined;
}

/** The patches of one file, as data: which method of which class, replaced by which wrapper. */
function patches(
  target: Prototype | Exports | undefined,
  methods: Record<string, (original: AnyFunction) => AnyFunction>,
): MethodPatch[] {
  if (target === undefined) return [];
  return Object.entries(methods).map(([method, wrapper]) => ({ target, method, wrapper }));
}

/** Both lib/channel_model.js (promise API) and lib/callback_model.js define a Channel and a ConfirmChannel. */
function modelPatches(exports: Exports, ctx: AmqplibContext, api: 'promise' | 'callback'): MethodPatch[] {
  const channel = prototypeOf(exports, 'Channel');
  return [
    ...patches(channel, {
      publish: publish(ctx),
      consume: consume(ctx),
      get: api === 'promise' ? getPromise(ctx) : getCallback(ctx),
      ack: ack(ctx),
      nack: nack(ctx),
      reject: reject(ctx),
      ackAll: ackAll(ctx),
      nackAll: nackAll(ctx),
    }),
    ...patches(prototypeOf(exports, 'ConfirmChannel'), { publish: confirmPublish(ctx) }),
  ];
}

/**
 * OpenTelemetry instrumentation for amqplib: a PRODUCER span per published message, a CONSUMER
 * span per delivered message that lasts until it is settled, and mqtrail's consumption-chain
 * metrics. The prototypes are patched (not the connection or channel objects), so every channel
 * is traced however it was created, including those a recovering connection reopens.
 */
export class AmqplibInstrumentation extends InstrumentationBase<ResolvedAmqplibConfig> {
  // Assigned from the base constructor (it calls _updateMetricInstruments); `declare` keeps a
  // class field from being defined after super() and erasing it.
  declare private metrics: MessagingMetrics;
  private readonly duplicates = new DuplicateDetector();

  constructor(config: AmqplibInstrumentationConfig = {}) {
    assertSdkGeneration(PACKAGE_NAME, InstrumentationBase);
    super(PACKAGE_NAME, PACKAGE_VERSION, resolveConfig(config));
  }

  override setConfig(config: AmqplibInstrumentationConfig = {}): void {
    super.setConfig(resolveConfig(config));
  }

  protected override _updateMetricInstruments(): void {
    this.metrics = MessagingMetrics.of(this.meter);
  }

  protected init(): InstrumentationNodeModuleDefinition {
    const files: [string, (exports: Exports, ctx: AmqplibContext) => MethodPatch[]][] = [
      ['amqplib/lib/connect.js', (exports) => patches(exports, { connect })],
      ['amqplib/lib/channel.js', (exports, ctx) => patches(prototypeOf(exports, 'Channel'), { emit: emit(ctx) })],
      ['amqplib/lib/channel_model.js', (exports, ctx) => modelPatches(exports, ctx, 'promise')],
      ['amqplib/lib/callback_model.js', (exports, ctx) => modelPatches(exports, ctx, 'callback')],
    ];
    return new InstrumentationNodeModuleDefinition(
      'amqplib',
      SUPPORTED_VERSIONS,
      undefined,
      undefined,
      files.map(
        ([name, patchesOf]) =>
          new InstrumentationNodeModuleFile(
            name,
            SUPPORTED_VERSIONS,
            (exports: Exports, moduleVersion?: string) => {
              wrapAll(this.shim(), patchesOf(exports, this.context(moduleVersion)), (method) =>
                claimClient('amqplib', `${name} (${method})`),
              );
              return exports;
            },
            (exports?: Exports) => {
              if (exports !== undefined) unwrapAll(this.shim(), patchesOf(exports, this.context(undefined)));
            },
          ),
      ),
    );
  }

  private shim(): Shim {
    return {
      wrap: (target, method, wrapper) => this._wrap(target as Prototype, method, wrapper),
      unwrap: (target, method) => this._unwrap(target as Prototype, method),
    };
  }

  /** What the wrappers get instead of this instance; providers and config are read at call time. */
  private context(moduleVersion: string | undefined): AmqplibContext {
    const tracer = (): Tracer => this.tracer;
    const metrics = (): MessagingMetrics => this.metrics;
    return {
      get tracer() {
        return tracer();
      },
      get metrics() {
        return metrics();
      },
      duplicates: this.duplicates,
      config: () => this.getConfig(),
      moduleVersion,
    };
  }
}
