import type { Attributes, Meter, MetricOptions } from '@opentelemetry/api';

/**
 * A monotonic counter summed in process and handed to the SDK when metrics are collected
 * (an asynchronous counter), instead of one SDK `add` per message. The SDK hashes the attribute
 * set on every `add`; with several counters per consumed message that hashing was the largest
 * single cost in the hot-path profiles. Here the per-message cost is one Map lookup by a key the
 * caller already has. Label sets are bounded by design, so the map is too.
 */
export class SummedCounter {
  private readonly sums = new Map<string, { attributes: Attributes; value: number }>();

  constructor(meter: Meter, name: string, options: MetricOptions) {
    meter.createObservableCounter(name, options).addCallback((result) => {
      for (const { attributes, value } of this.sums.values()) result.observe(value, attributes);
    });
  }

  /** Adds `value` to the sum of the label set `key`, whose attributes are `attributes`. */
  add(key: string, attributes: Attributes, value: number): void {
    const sum = this.sums.get(key);
    if (sum === undefined) this.sums.set(key, { attributes, value });
    else sum.value += value;
  }
}
