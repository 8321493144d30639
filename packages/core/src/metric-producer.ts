/**
 * Hands the histograms mqtrail aggregates itself (histogram-aggregate.ts) to the SDK's metric
 * readers. A `MetricReader` (and `PrometheusExporter`) takes `metricProducers` in its options; at
 * every collection it calls each producer's `collect()` and appends the scope metrics it returns to
 * the SDK's own, keeping the SDK's resource (sdk-metrics 2.x and 3.x, `MetricReader.collect`).
 *
 * When are histograms aggregated here rather than recorded on SDK instruments? A MessagingMetrics
 * decides once, when it is created, from its meter (`histogramAggregates` below). It aggregates only
 * if every reader that would otherwise receive its histograms receives them from a producer:
 *
 * - the meter is an OpenTelemetry JS SDK meter (sdk-metrics 2.x or 3.x) whose MeterProvider has
 *   at least one reader;
 * - every reader of that MeterProvider has exactly one `mqtrailMetricProducer()` (from this copy
 *   of @mqtrail/core) in its `metricProducers`, not already serving another MeterProvider;
 * - every reader selects the default aggregation and cumulative temporality for histograms;
 * - no View of the MeterProvider matches these histograms.
 *
 * Otherwise, and whenever the SDK's state cannot be read, it creates SDK histograms and records on
 * them for its whole life, exactly as without a producer. A point is recorded in one place only,
 * and a producer reports only the histograms of its own MeterProvider, so nothing is counted twice
 * and nothing is lost.
 *
 * Reading that state means reading fields sdk-metrics does not export (`_meterSharedState`,
 * `metricCollectors`, `_metricReader`, `_metricProducers`; the same from 2.0 to 3.1). Should a later
 * SDK rename them, the check fails and mqtrail falls back to SDK histograms: slower, never wrong.
 */
import { diag, type Meter } from '@opentelemetry/api';
import {
  AGGREGATION_TEMPORALITY_CUMULATIVE,
  AggregatedHistogram,
  DEFAULT_CARDINALITY_LIMIT,
  type HistogramDescription,
  type HistogramMetricData,
  millisToHrTime,
} from './histogram-aggregate';

/** `InstrumentType.HISTOGRAM` of sdk-metrics (a string enum). */
const HISTOGRAM_INSTRUMENT = 'HISTOGRAM';
/** `AggregationType.DEFAULT` of sdk-metrics: the instrument's advice decides the buckets. */
const AGGREGATION_TYPE_DEFAULT = 0;

/** The instrumentation scope of a meter, as @opentelemetry/core's `InstrumentationScope`. */
export interface InstrumentationScopeLike {
  readonly name: string;
  readonly version?: string;
  readonly schemaUrl?: string;
}

/** One meter's aggregated histograms, as sdk-metrics' `ScopeMetrics`. */
export interface MqtrailScopeMetrics {
  scope: InstrumentationScopeLike;
  metrics: HistogramMetricData[];
}

/** What `collect()` returns, as sdk-metrics' `CollectionResult`. */
export interface MqtrailCollectionResult {
  resourceMetrics: {
    /**
     * The MeterProvider's resource. Readers keep the SDK's own and discard a producer's; typed
     * `never` so that the result fits the `Resource` type of either SDK generation.
     */
    resource: never;
    scopeMetrics: MqtrailScopeMetrics[];
  };
  errors: unknown[];
}

/** One meter's histograms. */
class ScopeAggregates {
  private readonly histograms = new Map<string, AggregatedHistogram>();

  constructor(
    readonly scope: InstrumentationScopeLike,
    private readonly cardinalityLimit: number,
  ) {}

  /** The histogram of this name, created on first use; later instances of the meter share it, as SDK instruments do. */
  histogram(description: HistogramDescription): AggregatedHistogram {
    let histogram = this.histograms.get(description.name);
    if (histogram === undefined) {
      histogram = new AggregatedHistogram(description, this.cardinalityLimit);
      this.histograms.set(description.name, histogram);
    }
    return histogram;
  }

  collect(endTime: ReturnType<typeof millisToHrTime>): HistogramMetricData[] {
    const metrics: HistogramMetricData[] = [];
    for (const histogram of this.histograms.values()) {
      const metric = histogram.collect(endTime);
      if (metric !== undefined) metrics.push(metric);
    }
    return metrics;
  }
}

/** The aggregated histograms of one MeterProvider, by meter. */
class ProviderAggregates {
  /** By the SDK's per-meter state object: one per name, version and schema URL, as the provider caches meters. */
  private readonly scopes = new Map<object, ScopeAggregates>();

  constructor(readonly resource: unknown) {}

  scope(meterState: object, scope: InstrumentationScopeLike, cardinalityLimit: number): ScopeAggregates {
    let aggregates = this.scopes.get(meterState);
    if (aggregates === undefined) {
      aggregates = new ScopeAggregates(scope, cardinalityLimit);
      this.scopes.set(meterState, aggregates);
    }
    return aggregates;
  }

  collect(): MqtrailScopeMetrics[] {
    const endTime = millisToHrTime(Date.now());
    const scopeMetrics: MqtrailScopeMetrics[] = [];
    for (const aggregates of this.scopes.values()) {
      const metrics = aggregates.collect(endTime);
      // The SDK leaves out a meter with nothing recorded; so does this.
      if (metrics.length > 0) scopeMetrics.push({ scope: aggregates.scope, metrics });
    }
    return scopeMetrics;
  }
}

/** By the SDK's MeterProvider state. */
const aggregatesByProvider = new WeakMap<object, ProviderAggregates>();
/** The MeterProvider each producer serves, set when the first MessagingMetrics binds to it. */
const aggregatesByProducer = new WeakMap<MqtrailMetricProducer, ProviderAggregates>();
let producersCreated = 0;

/**
 * A `MetricProducer` for the `metricProducers` option of every metric reader: it reports the
 * histograms mqtrail aggregates itself. See `mqtrailMetricProducer()`.
 */
export class MqtrailMetricProducer {
  constructor() {
    producersCreated++;
  }

  async collect(_options?: { timeoutMillis?: number }): Promise<MqtrailCollectionResult> {
    const aggregates = aggregatesByProducer.get(this);
    return {
      resourceMetrics: {
        resource: (aggregates?.resource ?? { attributes: {} }) as never,
        scopeMetrics: aggregates?.collect() ?? [],
      },
      errors: [],
    };
  }
}

/**
 * A producer to pass to **every** metric reader of the MeterProvider mqtrail records on, e.g.
 * `new PrometheusExporter({ metricProducers: [mqtrailMetricProducer()] })`. With it, the duration
 * and latency histograms are aggregated inside mqtrail and reported through it, instead of costing
 * an SDK `Histogram.record` per point; without it on every reader, they stay SDK histograms. One
 * producer per reader.
 */
export function mqtrailMetricProducer(): MqtrailMetricProducer {
  return new MqtrailMetricProducer();
}

// The few sdk-metrics internals read, every one optional: absent means "cannot tell", so SDK histograms.
interface SdkMeterState {
  _meterProviderSharedState?: {
    metricCollectors?: unknown;
    viewRegistry?: { findViews?: (instrument: object, scope: InstrumentationScopeLike) => unknown };
    resource?: unknown;
  };
  _instrumentationScope?: InstrumentationScopeLike;
}
interface SdkReader {
  _metricProducers?: unknown;
  selectAggregation?: (instrumentType: string) => { type?: unknown } | undefined;
  selectAggregationTemporality?: (instrumentType: string) => unknown;
  selectCardinalityLimit?: (instrumentType: string) => unknown;
}

/**
 * The aggregated histograms a MessagingMetrics records on, one per description in order, or why it
 * must use SDK histograms instead (see the module comment for the rule).
 */
export function histogramAggregates(
  meter: Meter,
  descriptions: readonly HistogramDescription[],
): AggregatedHistogram[] | string {
  try {
    const meterState = (meter as { _meterSharedState?: SdkMeterState })._meterSharedState;
    const provider = meterState?._meterProviderSharedState;
    const scope = meterState?._instrumentationScope;
    if (meterState === undefined || provider === undefined || typeof scope?.name !== 'string') {
      return 'the meter is not an OpenTelemetry SDK meter';
    }
    const collectors = provider.metricCollectors;
    if (!Array.isArray(collectors) || collectors.length === 0) return 'the MeterProvider has no readers';
    const findViews = provider.viewRegistry?.findViews;
    if (typeof findViews !== 'function') return 'the MeterProvider has no view registry';
    for (const description of descriptions) {
      const views = findViews.call(provider.viewRegistry, instrumentDescriptor(description), scope);
      if (!Array.isArray(views) || views.length > 0) return `a View matches ${description.name}`;
    }
    let aggregates = aggregatesByProvider.get(provider);
    if (aggregates === undefined) {
      aggregates = new ProviderAggregates(provider.resource);
      aggregatesByProvider.set(provider, aggregates);
    }
    const producers: MqtrailMetricProducer[] = [];
    let cardinalityLimit = DEFAULT_CARDINALITY_LIMIT;
    for (const collector of collectors as { _metricReader?: SdkReader }[]) {
      const reader = collector?._metricReader;
      const name = reader?.constructor?.name ?? 'a reader';
      const own = Array.isArray(reader?._metricProducers)
        ? reader._metricProducers.filter((producer) => producer instanceof MqtrailMetricProducer)
        : [];
      if (reader === undefined || own.length !== 1) return `${name} has ${own.length} mqtrailMetricProducer()s, not 1`;
      const producer = own[0] as MqtrailMetricProducer;
      const serves = aggregatesByProducer.get(producer);
      if (serves !== undefined && serves !== aggregates) return `${name}'s producer serves another MeterProvider`;
      if (reader.selectAggregationTemporality?.(HISTOGRAM_INSTRUMENT) !== AGGREGATION_TEMPORALITY_CUMULATIVE) {
        return `${name} selects delta temporality for histograms`;
      }
      if (reader.selectAggregation?.(HISTOGRAM_INSTRUMENT)?.type !== AGGREGATION_TYPE_DEFAULT) {
        return `${name} selects an aggregation other than the default for histograms`;
      }
      const limit = reader.selectCardinalityLimit?.(HISTOGRAM_INSTRUMENT);
      if (typeof limit === 'number' && limit > 0) cardinalityLimit = Math.min(cardinalityLimit, limit);
      producers.push(producer);
    }
    for (const producer of producers) aggregatesByProducer.set(producer, aggregates);
    const scopeAggregates = aggregates.scope(meterState, scope, cardinalityLimit);
    diag.debug(`mqtrail: histograms of ${scope.name} aggregated in mqtrail, reported by mqtrailMetricProducer()`);
    return descriptions.map((description) => scopeAggregates.histogram(description));
  } catch (error) {
    return `the SDK's state could not be read (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** Says, when a producer exists, why a MessagingMetrics records on SDK histograms anyway. */
export function reportFallback(reason: string): void {
  if (producersCreated > 0) diag.debug(`mqtrail: histograms recorded on SDK instruments, not aggregated: ${reason}`);
}

/** What the SDK's ViewRegistry matches a View against, for one histogram. */
function instrumentDescriptor(description: HistogramDescription): object {
  return {
    name: description.name,
    type: HISTOGRAM_INSTRUMENT,
    description: description.description,
    unit: description.unit,
    valueType: 1,
    advice: { explicitBucketBoundaries: [...description.boundaries] },
  };
}
