/**
 * The OpenTelemetry set-up of one child process, identical for every instrumented variant: an SDK
 * TracerProvider with a BatchSpanProcessor in front of an exporter that only counts, the
 * AsyncLocalStorage context manager, W3C trace-context and baggage propagation, and a
 * MeterProvider with a periodic reader (metrics are part of what an instrumentation costs).
 * The `none` variant installs nothing at all.
 */
import { mqtrailMetricProducer } from '@mqtrail/core';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  type ExportResult,
  ExportResultCode,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { type Instrumentation, registerInstrumentations } from '@opentelemetry/instrumentation';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { installFloor, LEAST } from './floor';
import { MQTRAIL_SHAPE } from './floor-shape';
import { type Client, samplingRatio, type TelemetryCounts, type VariantName } from './protocol';

/** Drops spans after counting them: the cost measured is the instrumentation's, not an exporter's. */
class CountingSpanExporter implements SpanExporter {
  count = 0;

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.count += spans.length;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** Counts the data points of each collection and drops them. */
class CountingMetricExporter implements PushMetricExporter {
  points = 0;

  export(resourceMetrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    let points = 0;
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) points += metric.dataPoints.length;
    }
    this.points = points;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function observer(observe: (span: ReadableSpan) => void): SpanProcessor {
  return {
    onStart: () => {},
    onEnd: observe,
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

export interface Telemetry {
  /** Flushes spans and collects metrics once, then says how much telemetry the job produced. */
  counts(): Promise<TelemetryCounts>;
  shutdown(): Promise<void>;
}

const NO_TELEMETRY: Telemetry = {
  counts: async () => ({ spans: 0, metricPoints: 0 }),
  shutdown: async () => {},
};

/** The constructor an instrumentation package exports; each one takes an optional config object. */
type InstrumentationClass = new (config?: object) => unknown;

/** Package and export of each instrumentation, loaded only in the child that uses it. */
const INSTRUMENTATIONS: Record<'contrib' | 'mqtrail', Record<Client, { pkg: string; exportName: string }>> = {
  contrib: {
    kafkajs: { pkg: '@opentelemetry/instrumentation-kafkajs', exportName: 'KafkaJsInstrumentation' },
    amqplib: { pkg: '@opentelemetry/instrumentation-amqplib', exportName: 'AmqplibInstrumentation' },
  },
  mqtrail: {
    kafkajs: { pkg: '@mqtrail/instrumentation-kafkajs', exportName: 'KafkaJsInstrumentation' },
    amqplib: { pkg: '@mqtrail/instrumentation-amqplib', exportName: 'AmqplibInstrumentation' },
  },
};

export function family(variant: VariantName): 'none' | 'sdk' | 'floor' | 'contrib' | 'mqtrail' {
  if (variant === 'none' || variant === 'sdk') return variant;
  if (variant.startsWith('floor') || variant === 'shape') return 'floor';
  return variant.startsWith('contrib') ? 'contrib' : 'mqtrail';
}

/**
 * The root sampler under `ParentBased`: `AlwaysOn` at 100%, else the SDK's own
 * `TraceIdRatioBased(ratio)` (0.01 for `-1%`, 0 for `-0%`).
 */
export function rootSampler(variant: VariantName): Sampler {
  const ratio = samplingRatio(variant);
  return ratio >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio);
}

/**
 * Loads the instrumentation class by name at run time, so the bench builds and its `none` and
 * contrib variants run even while an mqtrail package does not export its class yet.
 */
function loadInstrumentation(variantFamily: 'contrib' | 'mqtrail', client: Client): InstrumentationClass {
  const { pkg, exportName } = INSTRUMENTATIONS[variantFamily][client];
  let exports: Record<string, unknown>;
  try {
    exports = require(pkg) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${pkg} cannot be loaded (not built?): ${(error as Error).message.split('\n')[0]}`);
  }
  const found = exports[exportName];
  if (typeof found !== 'function') throw new Error(`${pkg} does not export ${exportName} yet (not built?)`);
  return found as InstrumentationClass;
}

/**
 * Installs the SDK and the variant's instrumentation for `client`. Must run before the client
 * module is first required: instrumentations patch it as it loads.
 */
export function setUpTelemetry(
  variant: VariantName,
  client: Client,
  /** Also hands every ended span to this (span-sample.ts); the variants measured leave it out. */
  observe?: (span: ReadableSpan) => void,
): Telemetry {
  const variantFamily = family(variant);
  if (variantFamily === 'none') return NO_TELEMETRY;
  const Instrumentation =
    variantFamily === 'sdk' || variantFamily === 'floor' ? undefined : loadInstrumentation(variantFamily, client);

  const root = rootSampler(variant);
  const spanExporter = new CountingSpanExporter();
  const tracerProvider = new TracerProvider({
    sampler: new ParentBasedSampler({ root }),
    spanProcessors: [
      new BatchSpanProcessor({ exporter: spanExporter }),
      ...(observe === undefined ? [] : [observer(observe)]),
    ],
  });
  const metricExporter = new CountingMetricExporter();
  // mqtrail's pre-aggregated histograms reach readers through its MetricProducer: the one line an
  // own-SDK user adds, here for every variant alike (it hands over nothing where mqtrail records
  // nothing), so the mqtrail variants and the metric-point micro-benchmark measure it wired.
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: metricExporter,
        exportIntervalMillis: 10_000,
        metricProducers: [mqtrailMetricProducer()],
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);

  // contrib depends on @opentelemetry/instrumentation 0.300 and mqtrail on 0.301: registering
  // through the 0.301 helper is duck-typed (setTracerProvider / setMeterProvider / enable).
  if (variantFamily === 'floor') installFloor(client, variant === 'shape' ? MQTRAIL_SHAPE : LEAST);
  if (Instrumentation !== undefined) {
    registerInstrumentations({
      instrumentations: [new Instrumentation() as Instrumentation],
      tracerProvider,
      meterProvider,
    });
  }

  return {
    async counts() {
      await tracerProvider.forceFlush();
      await meterProvider.forceFlush();
      return { spans: spanExporter.count, metricPoints: metricExporter.points };
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}
