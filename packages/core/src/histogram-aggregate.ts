/**
 * Explicit-bucket histograms aggregated inside mqtrail, one series per label set, reported to the
 * SDK's metric readers by a `MetricProducer` (metric-producer.ts) instead of being recorded on SDK
 * histograms. The SDK hashes the attribute set on every `Histogram.record`; here a point is a bucket
 * search over at most 16 boundaries and a few additions on a series the caller already holds.
 *
 * What a series reports is what the SDK's explicit-bucket aggregator reports for the same
 * recordings (sdk-metrics 2.x and 3.x, `HistogramAccumulation`): a value equal to a boundary counts
 * in that boundary's bucket (upper bounds are inclusive), min and max are kept, negative values are
 * dropped, NaN is ignored, and the start time is the first point's `Date.now()`.
 *
 * The data is built as the plain objects the SDK's `MetricData` types describe, without importing
 * the SDK: mqtrail's packages take OpenTelemetry from the application and must not bring a second
 * metrics SDK into it. The two enum values needed are numeric and the same in every generation
 * (checked in sdk-metrics 2.0.0, 2.12 and 3.1).
 */
import { type Attributes, type HrTime, ValueType } from '@opentelemetry/api';

/** `DataPointType.HISTOGRAM` of @opentelemetry/sdk-metrics. */
export const DATA_POINT_TYPE_HISTOGRAM = 0;
/** `AggregationTemporality.CUMULATIVE` of @opentelemetry/sdk-metrics. */
export const AGGREGATION_TEMPORALITY_CUMULATIVE = 1;

/** The SDK's attributes for the series that takes points beyond the cardinality limit. */
export const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true });
/** The SDK's default cardinality limit per metric stream. */
export const DEFAULT_CARDINALITY_LIMIT = 2_000;

/** A histogram as it is created: the same name, description, unit and advice as an SDK instrument. */
export interface HistogramDescription {
  name: string;
  description: string;
  unit: string;
  /** Sorted upper bounds, the advice `explicitBucketBoundaries`. */
  boundaries: readonly number[];
}

/** The value of a histogram point, as sdk-metrics' `Histogram` type. */
export interface HistogramPointValue {
  buckets: { boundaries: number[]; counts: number[] };
  sum?: number;
  count: number;
  min?: number;
  max?: number;
}

/** A histogram point, as sdk-metrics' `DataPoint<Histogram>`. */
export interface HistogramDataPoint {
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly attributes: Attributes;
  readonly value: HistogramPointValue;
}

/**
 * A histogram metric, as sdk-metrics' `HistogramMetricData`. The descriptor carries the instrument
 * descriptor's `type` and `advice` too, as the SDK's does.
 */
export interface HistogramMetricData {
  readonly descriptor: {
    readonly name: string;
    readonly description: string;
    readonly unit: string;
    readonly valueType: ValueType;
    readonly type: 'HISTOGRAM';
    readonly advice: { explicitBucketBoundaries: number[] };
  };
  readonly aggregationTemporality: typeof AGGREGATION_TEMPORALITY_CUMULATIVE;
  readonly dataPointType: typeof DATA_POINT_TYPE_HISTOGRAM;
  readonly dataPoints: HistogramDataPoint[];
}

/** `millisToHrTime` of @opentelemetry/core, which the SDK uses for a series' start time. */
export function millisToHrTime(epochMillis: number): HrTime {
  return [Math.trunc(epochMillis / 1000), Math.round((epochMillis % 1000) * 1e6)];
}

/** One label set's cumulative histogram. */
export class HistogramSeries {
  /** One count per boundary, and one for values above the last. */
  private readonly counts: Float64Array;
  private count = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  readonly startTime: HrTime = millisToHrTime(Date.now());

  constructor(
    readonly attributes: Attributes,
    private readonly boundaries: readonly number[],
  ) {
    this.counts = new Float64Array(boundaries.length + 1);
  }

  /** Adds one point: no allocation, a linear scan of the (few) boundaries. */
  record(value: number): void {
    // Negative values are dropped by the SDK's Histogram.record, NaN by its aggregator.
    if (!(value >= 0)) return;
    const boundaries = this.boundaries;
    const last = boundaries.length;
    let bucket = 0;
    while (bucket < last && value > (boundaries[bucket] as number)) bucket++;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** A copy of the series now: exporters may serialize it while points keep arriving. */
  point(boundaries: number[], endTime: HrTime): HistogramDataPoint {
    const hasMinMax = this.count > 0;
    return {
      attributes: this.attributes,
      startTime: this.startTime,
      endTime,
      value: {
        min: hasMinMax ? this.min : undefined,
        max: hasMinMax ? this.max : undefined,
        sum: this.sum,
        buckets: { boundaries, counts: Array.from(this.counts) },
        count: this.count,
      },
    };
  }
}

/** A histogram's series by label set, in the order of their first point (as the SDK lists them). */
export class AggregatedHistogram {
  private readonly series = new Map<string, HistogramSeries>();
  /** The boundaries as reported: one array shared by every point, as the SDK's aggregator does. */
  private readonly boundaries: number[];

  constructor(
    readonly description: HistogramDescription,
    private readonly cardinalityLimit = DEFAULT_CARDINALITY_LIMIT,
  ) {
    this.boundaries = [...description.boundaries];
  }

  /**
   * The series of the label set `key` (any string that is equal exactly when the attributes are).
   * Callers look it up once per label set and keep it. Past the cardinality limit, new label sets
   * share the SDK's overflow series, as the SDK does.
   */
  seriesOf(key: string, attributes: Attributes): HistogramSeries {
    let series = this.series.get(key);
    if (series === undefined) {
      if (this.series.size >= this.cardinalityLimit - 1) return this.overflow();
      series = new HistogramSeries(attributes, this.boundaries);
      this.series.set(key, series);
    }
    return series;
  }

  /** The metric now, or undefined when nothing was recorded (the SDK leaves such metrics out). */
  collect(endTime: HrTime): HistogramMetricData | undefined {
    if (this.series.size === 0) return undefined;
    const { name, description, unit } = this.description;
    const dataPoints: HistogramDataPoint[] = [];
    for (const series of this.series.values()) dataPoints.push(series.point(this.boundaries, endTime));
    return {
      descriptor: {
        name,
        type: 'HISTOGRAM',
        description,
        unit,
        valueType: ValueType.DOUBLE,
        advice: { explicitBucketBoundaries: this.boundaries },
      },
      aggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE,
      dataPointType: DATA_POINT_TYPE_HISTOGRAM,
      dataPoints,
    };
  }

  private overflow(): HistogramSeries {
    const key = '\u0000otel.metric.overflow';
    let series = this.series.get(key);
    if (series === undefined) {
      series = new HistogramSeries(OVERFLOW_ATTRIBUTES, this.boundaries);
      this.series.set(key, series);
    }
    return series;
  }
}

/** A key equal for equal attribute sets whatever their order, for finding a label set's series. */
export function attributesKey(attributes: Attributes): string {
  return JSON.stringify(
    Object.keys(attributes)
      .sort()
      .map((name) => [name, attributes[name]]),
  );
}
