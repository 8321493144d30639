import { type Attributes, createNoopMeter, diag, type Gauge, type Histogram, type Meter } from '@opentelemetry/api';
import { destinationLabel } from './destination';
import {
  type AggregatedHistogram,
  attributesKey,
  type HistogramDescription,
  type HistogramSeries,
} from './histogram-aggregate';
import { histogramAggregates, reportFallback } from './metric-producer';
import { Attr, type MessagingSystem, MetricName, type SettleOutcome } from './semconv';
import { SEMCONV_NAMES, type SemconvNames, setRenamed } from './semconv-stability';
import { SummedCounter } from './summed-counter';

/** Advisory buckets the messaging conventions give for operation and process durations. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Waiting in a queue and whole chains take longer than one operation: buckets reach ten minutes. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** The histograms, in the order they are created; `HistogramIndex` names the positions. */
const HISTOGRAMS: readonly HistogramDescription[] = Object.freeze([
  {
    name: MetricName.OPERATION_DURATION,
    description: 'Duration of messaging operation initiated by a producer or consumer client.',
    unit: 's',
    boundaries: DURATION_BUCKETS,
  },
  {
    name: MetricName.PROCESS_DURATION,
    description: 'Duration of processing operation.',
    unit: 's',
    boundaries: DURATION_BUCKETS,
  },
  {
    name: MetricName.DELIVERY_LATENCY,
    description: 'Time from a message being sent to the start of its processing.',
    unit: 's',
    boundaries: LATENCY_BUCKETS,
  },
  {
    name: MetricName.CHAIN_LATENCY,
    description: 'Time from the first send of a consumption chain to the end of processing this message.',
    unit: 's',
    boundaries: LATENCY_BUCKETS,
  },
]);
const OPERATION_DURATION = 0;
const PROCESS_DURATION = 1;
const DELIVERY_LATENCY = 2;
const CHAIN_LATENCY = 3;
type HistogramIndex =
  | typeof OPERATION_DURATION
  | typeof PROCESS_DURATION
  | typeof DELIVERY_LATENCY
  | typeof CHAIN_LATENCY;

/**
 * The only attributes a metric point may carry. Every one is bounded: no routing keys,
 * message ids, keys or offsets — those belong on spans. A labels object is cached by identity
 * once recorded with: build a new one rather than change it.
 */
export interface MetricLabels {
  system: MessagingSystem;
  operation: string;
  destination?: string;
  partition?: string | number;
  consumerGroup?: string;
  errorType?: string;
}

/**
 * Label object in semconv attribute names; temporary destinations folded to one value. The system
 * is under the names of `semconv` (default: the process's `OTEL_SEMCONV_STABILITY_OPT_IN`), so
 * Prometheus shows `messaging_system`, `messaging_system_name` or both.
 */
export function metricAttributes(labels: MetricLabels, semconv: SemconvNames = SEMCONV_NAMES): Attributes {
  const attributes: Attributes = {};
  setRenamed(attributes, semconv.SYSTEM, labels.system);
  attributes[Attr.OPERATION_NAME] = labels.operation;
  if (labels.destination !== undefined) attributes[Attr.DESTINATION_NAME] = destinationLabel(labels.destination);
  if (labels.partition !== undefined) attributes[Attr.DESTINATION_PARTITION_ID] = String(labels.partition);
  if (labels.consumerGroup !== undefined) attributes[Attr.CONSUMER_GROUP_NAME] = labels.consumerGroup;
  if (labels.errorType !== undefined) attributes[Attr.ERROR_TYPE] = labels.errorType;
  return attributes;
}

/** Distinct label sets cached at most; labels are bounded by design, so this is only a backstop. */
const MAX_CACHED_LABEL_SETS = 2_000;
/** Error types per label set kept at most; error types are class names, so also only a backstop. */
const MAX_DERIVED_LABEL_SETS = 64;

/** A label set's attributes and the key they are cached and summed under. */
interface LabelSet {
  key: string;
  attributes: Attributes;
  /**
   * The same without the partition, for histograms: a duration or latency per partition would
   * multiply the series by partitions × buckets, and every point hashes its attribute set, so a
   * label fewer is cheaper too. Per-partition detail stays on spans, counters and the lag gauge.
   */
  histogramAttributes: Attributes;
  /**
   * The same labels with an error type or a settle outcome added, built on first use. A consumed
   * message records its outcome with the labels of its subscription: this keeps that a lookup in a
   * map of a handful of entries instead of building and hashing the whole key again.
   */
  withErrorType?: Map<string, LabelSet>;
  withOutcome?: Map<SettleOutcome, LabelSet>;
  /** When histograms are aggregated in mqtrail: this label set's series of each, found on first use. */
  series?: (HistogramSeries | undefined)[];
}

/** Seconds elapsed since a `performance.now()` reading. */
function secondsSince(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

/**
 * Every instrument mqtrail records, behind methods named for what happened, so instrumentations
 * never build instruments or attribute objects themselves.
 *
 * Counters are summed here and observed by the SDK at collection (SummedCounter). Histograms are
 * aggregated here too, per label set, when every reader of the meter's MeterProvider has an
 * `mqtrailMetricProducer()` to report them (the rule is in metric-producer.ts); otherwise they are
 * SDK histograms. Decided once, at construction: a point is recorded in exactly one place.
 */
export class MessagingMetrics {
  /**
   * The instruments of `meter`; no-op ones when creating them throws (a broken MeterProvider),
   * so registering the instrumentation or setting a meter provider never fails because of mqtrail.
   */
  static of(meter: Meter): MessagingMetrics {
    try {
      return new MessagingMetrics(meter);
    } catch (error) {
      diag.error('mqtrail: creating metric instruments failed; messages are traced without metrics', error);
      return new MessagingMetrics(createNoopMeter());
    }
  }

  private readonly sent: SummedCounter;
  private readonly consumed: SummedCounter;
  /** Aggregated in mqtrail and reported by producers, by `HistogramIndex`; or undefined for SDK histograms. */
  private readonly aggregated: readonly AggregatedHistogram[] | undefined;
  /** The SDK histograms when not aggregated, by `HistogramIndex`; empty otherwise. */
  private readonly histograms: readonly Histogram[];
  private readonly settled: SummedCounter;
  private readonly redelivered: SummedCounter;
  private readonly duplicates: SummedCounter;
  private readonly returned: SummedCounter;
  private readonly consumerLag: Gauge;
  /**
   * Attribute objects by label set. Every consumed message records five points; building and
   * spreading a fresh object for each was a visible share of the hot path in the profiles.
   */
  private readonly attributeCache = new Map<string, LabelSet>();
  private readonly labelSetByObject = new WeakMap<MetricLabels, LabelSet>();

  /**
   * @param semconv names of renamed attributes, fixed for the instance's life. Default: the
   *   process's, from `OTEL_SEMCONV_STABILITY_OPT_IN`.
   */
  constructor(
    meter: Meter,
    private readonly semconv: SemconvNames = SEMCONV_NAMES,
  ) {
    this.sent = new SummedCounter(meter, MetricName.SENT_MESSAGES, {
      description: 'Number of messages producers attempted to send to the broker.',
      unit: '{message}',
    });
    this.consumed = new SummedCounter(meter, MetricName.CONSUMED_MESSAGES, {
      description: 'Number of messages that were delivered to the application.',
      unit: '{message}',
    });
    const aggregated = histogramAggregates(meter, HISTOGRAMS);
    if (typeof aggregated === 'string') {
      reportFallback(aggregated);
      this.aggregated = undefined;
      this.histograms = HISTOGRAMS.map(({ name, description, unit, boundaries }) =>
        meter.createHistogram(name, { description, unit, advice: { explicitBucketBoundaries: [...boundaries] } }),
      );
    } else {
      this.aggregated = aggregated;
      this.histograms = [];
    }
    this.settled = new SummedCounter(meter, MetricName.SETTLED_MESSAGES, {
      description: 'Consumed messages by how they were settled (ack, requeue, drop, commit, ...).',
      unit: '{message}',
    });
    this.redelivered = new SummedCounter(meter, MetricName.REDELIVERED_MESSAGES, {
      description: 'Consumed messages the broker marked as redelivered.',
      unit: '{message}',
    });
    this.duplicates = new SummedCounter(meter, MetricName.DUPLICATE_MESSAGES, {
      description: 'Consumed messages already seen by the same consumer scope within the duplicate window.',
      unit: '{message}',
    });
    this.returned = new SummedCounter(meter, MetricName.RETURNED_MESSAGES, {
      description: 'Published messages the broker returned as unroutable.',
      unit: '{message}',
    });
    this.consumerLag = meter.createGauge(MetricName.KAFKA_CONSUMER_LAG, {
      description: 'Messages between the high watermark and the offset being processed, per partition.',
      unit: '{message}',
    });
  }

  recordSent(labels: MetricLabels, count = 1): void {
    this.add(this.sent, this.labelSet(labels), count);
  }

  recordConsumed(labels: MetricLabels, count = 1): void {
    this.add(this.consumed, this.labelSet(labels), count);
  }

  /** Starts timing a send, receive or settle call; the returned function records it. */
  startOperation(labels: MetricLabels): (errorType?: string) => void {
    const start = performance.now();
    return (errorType) => this.recordOperationDuration(labels, start, errorType);
  }

  /** Starts timing the processing of a batch; the returned function records it. */
  startProcess(labels: MetricLabels): (errorType?: string) => void {
    const start = performance.now();
    return (errorType) => this.recordProcessDuration(labels, start, errorType);
  }

  /**
   * A send, receive or settle call that started at `startMs` (`performance.now()`) ends now. For
   * one call per message, keeping the start in a field of an object the message has anyway costs
   * less than the closure of `startOperation`.
   */
  recordOperationDuration(labels: MetricLabels, startMs: number, errorType?: string): void {
    this.recordHistogram(OPERATION_DURATION, secondsSince(startMs), this.labelSet(labels, errorType));
  }

  /** The processing of a message that started at `startMs` (`performance.now()`) ends now. */
  recordProcessDuration(labels: MetricLabels, startMs: number, errorType?: string): void {
    this.recordHistogram(PROCESS_DURATION, secondsSince(startMs), this.labelSet(labels, errorType));
  }

  /** Send → start of processing. Negative values (clock skew between hosts) are dropped. */
  recordDeliveryLatency(labels: MetricLabels, sentAtMs: number, nowMs = Date.now()): void {
    const seconds = (nowMs - sentAtMs) / 1000;
    if (seconds >= 0 && Number.isFinite(seconds))
      this.recordHistogram(DELIVERY_LATENCY, seconds, this.labelSet(labels));
  }

  /** Chain origin → end of this message's processing. */
  recordChainLatency(labels: MetricLabels, originAtMs: number, nowMs = Date.now()): void {
    const seconds = (nowMs - originAtMs) / 1000;
    if (seconds >= 0 && Number.isFinite(seconds)) this.recordHistogram(CHAIN_LATENCY, seconds, this.labelSet(labels));
  }

  recordSettled(labels: MetricLabels, outcome: SettleOutcome, count = 1): void {
    this.add(this.settled, this.labelSet(labels, undefined, outcome), count);
  }

  recordRedelivered(labels: MetricLabels): void {
    this.add(this.redelivered, this.labelSet(labels), 1);
  }

  recordDuplicate(labels: MetricLabels): void {
    this.add(this.duplicates, this.labelSet(labels), 1);
  }

  recordReturned(labels: MetricLabels): void {
    this.add(this.returned, this.labelSet(labels), 1);
  }

  recordConsumerLag(labels: MetricLabels, lag: number): void {
    if (lag >= 0 && Number.isFinite(lag)) this.consumerLag.record(lag, this.labelSet(labels).attributes);
  }

  /** One histogram point: on this label set's aggregated series, or on the SDK histogram. */
  private recordHistogram(index: HistogramIndex, seconds: number, labelSet: LabelSet): void {
    if (this.aggregated === undefined) {
      this.histograms[index]?.record(seconds, labelSet.histogramAttributes);
      return;
    }
    (labelSet.series?.[index] ?? this.seriesOf(index, labelSet)).record(seconds);
  }

  /** A label set's series of one aggregated histogram, looked up once and kept on the label set. */
  private seriesOf(index: HistogramIndex, labelSet: LabelSet): HistogramSeries {
    const histogram = this.aggregated?.[index] as AggregatedHistogram;
    // Keyed by the attributes themselves: label sets differing only in partition share a series, as they would in the SDK.
    const series = histogram.seriesOf(attributesKey(labelSet.histogramAttributes), labelSet.histogramAttributes);
    labelSet.series ??= [undefined, undefined, undefined, undefined];
    labelSet.series[index] = series;
    return series;
  }

  private add(counter: SummedCounter, labelSet: LabelSet, count: number): void {
    counter.add(labelSet.key, labelSet.attributes, count);
  }

  /** The cached attributes of a label set, with an error type or settle outcome if given. */
  private labelSet(labels: MetricLabels, errorType?: string, outcome?: SettleOutcome): LabelSet {
    // Instrumentations keep one labels object per subscription or partition: look it up by identity.
    let base = this.labelSetByObject.get(labels);
    if (base === undefined) {
      base = this.cached(labels, undefined, undefined);
      this.labelSetByObject.set(labels, base);
    }
    if (errorType !== undefined) {
      base.withErrorType ??= new Map();
      let derived = base.withErrorType.get(errorType);
      if (derived === undefined) {
        derived = this.cached(labels, errorType, undefined);
        if (base.withErrorType.size < MAX_DERIVED_LABEL_SETS) base.withErrorType.set(errorType, derived);
      }
      return derived;
    }
    if (outcome !== undefined) {
      base.withOutcome ??= new Map();
      let derived = base.withOutcome.get(outcome);
      if (derived === undefined) {
        derived = this.cached(labels, undefined, outcome);
        base.withOutcome.set(outcome, derived);
      }
      return derived;
    }
    return base;
  }

  /** The one LabelSet of these labels: equal labels in different objects share it, and its key. */
  private cached(labels: MetricLabels, errorType: string | undefined, outcome: SettleOutcome | undefined): LabelSet {
    const key = `${labels.system}\u0001${labels.operation}\u0001${labels.destination ?? ''}\u0001${labels.partition ?? ''}\u0001${labels.consumerGroup ?? ''}\u0001${errorType ?? labels.errorType ?? ''}\u0001${outcome ?? ''}`;
    let labelSet = this.attributeCache.get(key);
    if (labelSet === undefined) {
      const attributes = metricAttributes(errorType === undefined ? labels : { ...labels, errorType }, this.semconv);
      if (outcome !== undefined) attributes[Attr.SETTLE_OUTCOME] = outcome;
      let histogramAttributes = attributes;
      if (Attr.DESTINATION_PARTITION_ID in attributes) {
        histogramAttributes = { ...attributes };
        delete histogramAttributes[Attr.DESTINATION_PARTITION_ID];
      }
      labelSet = { key, attributes, histogramAttributes };
      if (this.attributeCache.size >= MAX_CACHED_LABEL_SETS) this.attributeCache.clear();
      this.attributeCache.set(key, labelSet);
    }
    return labelSet;
  }
}
