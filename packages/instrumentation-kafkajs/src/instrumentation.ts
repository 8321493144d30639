import {
  type AnyFunction,
  assertSdkGeneration,
  claimClient,
  MessagingMetrics,
  type MethodPatch,
  type Shim,
  unwrapAll,
  unwrapped,
  wrapAll,
} from '@mqtrail/core';
import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { wrapConsumerFactory, wrapKafkaClass, wrapProducerFactory } from './client';
import { type ResolvedConfig, resolveConfig } from './config';
import { type Fields, isObject } from './fields';
import type { KafkaJsInstrumentationConfig } from './types';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version';
import { createWrapContext, type WrapContext } from './wrap-context';

/** kafkajs versions this instrumentation patches; others load unpatched. */
export const SUPPORTED_VERSIONS = ['>=2.0.0 <3'];

/**
 * What to patch in a loaded kafkajs, as data. Under CommonJS `exports` is kafkajs's own exports
 * object; under ESM it is import-in-the-middle's namespace, whose `default` is that object again:
 * both hold a `Kafka` binding an application may construct through.
 */
function kafkaPatches(exports: unknown, ctx: WrapContext): MethodPatch[] {
  if (!isObject(exports)) return [];
  const holders = [exports, exports.default].filter(
    (holder): holder is Fields => isObject(holder) && typeof holder.Kafka === 'function',
  );
  const kafka = holders[0]?.Kafka as AnyFunction | undefined;
  const prototype: unknown = kafka === undefined ? undefined : unwrapped(kafka).prototype;
  const patches: MethodPatch[] = [...new Set(holders)].map((holder) => ({
    target: holder,
    method: 'Kafka',
    wrapper: wrapKafkaClass(ctx),
  }));
  if (isObject(prototype)) {
    patches.push(
      { target: prototype, method: 'producer', wrapper: wrapProducerFactory(ctx) },
      { target: prototype, method: 'consumer', wrapper: wrapConsumerFactory(ctx) },
    );
  }
  return patches;
}

export class KafkaJsInstrumentation extends InstrumentationBase<KafkaJsInstrumentationConfig> {
  // The base constructor calls `_updateMetricInstruments` and `init` before this class's fields
  // would be initialised; `declare` fields are not emitted, so nothing resets what they set.
  declare private metrics: MessagingMetrics;
  declare private context: WrapContext | undefined;
  declare private resolved: { raw: KafkaJsInstrumentationConfig; config: ResolvedConfig } | undefined;

  constructor(config: KafkaJsInstrumentationConfig = {}) {
    assertSdkGeneration(PACKAGE_NAME, InstrumentationBase);
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
  }

  protected override _updateMetricInstruments(): void {
    this.metrics = MessagingMetrics.of(this.meter);
  }

  protected init(): InstrumentationNodeModuleDefinition {
    return new InstrumentationNodeModuleDefinition(
      'kafkajs',
      SUPPORTED_VERSIONS,
      (exports: unknown) => {
        wrapAll(this.shim(), kafkaPatches(exports, this.wrapContext()), (method) =>
          claimClient('kafkajs', `kafkajs (${method})`),
        );
        return exports;
      },
      (exports: unknown) => {
        unwrapAll(this.shim(), kafkaPatches(exports, this.wrapContext()));
      },
    );
  }

  /** The configuration with defaults applied, re-resolved only when `setConfig` replaced it. */
  private currentConfig(): ResolvedConfig {
    const raw = this.getConfig();
    if (this.resolved?.raw !== raw) this.resolved = { raw, config: resolveConfig(raw) };
    return this.resolved.config;
  }

  private shim(): Shim {
    return { wrap: this._wrap, unwrap: this._unwrap };
  }

  private wrapContext(): WrapContext {
    this.context ??= createWrapContext({
      tracer: () => this.tracer,
      metrics: () => this.metrics,
      config: () => this.currentConfig(),
      shim: this.shim(),
    });
    return this.context;
  }
}
