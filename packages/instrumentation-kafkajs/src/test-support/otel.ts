/**
 * The shared in-memory OpenTelemetry set-up with an instrumentation whose kafkajs patch the test
 * applies to the module object it chooses.
 */
import { createTestTelemetry, type OpenSpanCounter } from '@mqtrail/test-support';
import type { MeterProvider, SpanKind, Tracer, TracerProvider } from '@opentelemetry/api';
import type { InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { KafkaJsInstrumentation } from '../instrumentation';
import type { KafkaJsInstrumentationConfig } from '../types';
import { type FakeConsumer, type FakeProducer, fakeKafkajs } from './fake-kafkajs';

export interface TestOtel {
  instrumentation: KafkaJsInstrumentation;
  /** The in-memory providers the instrumentation was given, for a test that wraps them. */
  providers: { tracerProvider: TracerProvider; meterProvider: MeterProvider };
  counter: OpenSpanCounter;
  /** Spans ended so far. */
  spans(): ReadableSpan[];
  spansOfKind(kind: SpanKind): ReadableSpan[];
  /** Metric points by instrument name. */
  collect(): Promise<Map<string, MetricData>>;
  /** Applies the kafkajs patch to a module object, as the require / import hook would. */
  patch<T>(exports: T): T;
  unpatch(exports: unknown): void;
  /** A tracer of the same provider, for the application's own spans. */
  tracer: Tracer;
  /** Shuts the providers down and uninstalls the global context manager and propagator. */
  shutdown(): Promise<void>;
}

export function setupOtel(config: KafkaJsInstrumentationConfig = {}): TestOtel {
  const telemetry = createTestTelemetry();
  // Disabled: no require hook is installed, the test patches exactly the module object it uses.
  const instrumentation = new KafkaJsInstrumentation({ ...config, enabled: false });
  instrumentation.setTracerProvider(telemetry.tracerProvider);
  instrumentation.setMeterProvider(telemetry.meterProvider);
  const [definition] = instrumentation.getModuleDefinitions() as InstrumentationNodeModuleDefinition[];
  if (definition?.patch === undefined || definition.unpatch === undefined)
    throw new Error('no kafkajs module definition');
  const { patch, unpatch } = definition;

  return {
    instrumentation,
    providers: { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider },
    counter: telemetry.counter,
    spans: () => telemetry.exportedSpans(),
    spansOfKind: (kind) => telemetry.spansOfKind(kind),
    collect: () => telemetry.collectMetrics(),
    patch: <T>(exports: T) => patch(exports, '2.2.4') as T,
    unpatch: (exports) => unpatch(exports, '2.2.4'),
    tracer: telemetry.tracerProvider.getTracer('app'),
    shutdown: () => telemetry.shutdown(),
  };
}

/** A producer and a consumer of a fake kafkajs that `otel` patched, as an application makes them. */
export function instrumentedClients(
  otel: TestOtel,
  clientId: string,
  groupId: string,
): { producer: FakeProducer; consumer: FakeConsumer } {
  const kafka = new (otel.patch(fakeKafkajs()).Kafka)({ clientId, brokers: ['127.0.0.1:9092'] });
  return { producer: kafka.producer(), consumer: kafka.consumer({ groupId }) };
}
