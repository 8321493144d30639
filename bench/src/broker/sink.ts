import { epochMs } from '../messages';
import { percentiles } from '../stats';

/**
 * Where consumed messages of a broker workload land: counts them, and for the measured ones (the
 * sequence numbers after the warm-up) records delivery latency — send time written in the body
 * by the producer to consume time, on the same host clock.
 */
export class DeliverySink {
  private readonly latencies: Float64Array;
  private received = 0;
  private measuredReceived = 0;
  private waiters: { target: number; resolve: () => void }[] = [];
  /** Epoch ms of the last measured message's arrival. */
  lastMeasuredAt = Number.NaN;

  constructor(
    private readonly warmup: number,
    private readonly measured: number,
  ) {
    this.latencies = new Float64Array(measured).fill(Number.NaN);
  }

  record(body: unknown): void {
    const now = epochMs();
    this.received++;
    const { sentAt, sequence } = parseBody(body);
    const index = sequence - this.warmup;
    if (index >= 0 && index < this.measured && Number.isNaN(this.latencies[index] as number)) {
      this.latencies[index] = now - sentAt;
      this.measuredReceived++;
      this.lastMeasuredAt = now;
    }
    if (this.waiters.length > 0) this.wake();
  }

  get count(): number {
    return this.received;
  }

  /** Resolves once `target` messages arrived in total; rejects after `timeoutMs`. */
  until(target: number, timeoutMs: number): Promise<void> {
    if (this.received >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${this.received} of ${target} messages consumed after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** p50 and p99 delivery latency of the measured messages, in ms. */
  latencyPercentiles(): { p50: number; p99: number; received: number } {
    const seen = this.latencies.filter((value) => !Number.isNaN(value));
    const [p50 = Number.NaN, p99 = Number.NaN] = percentiles(seen, [50, 99]);
    return { p50, p99, received: this.measuredReceived };
  }

  private wake(): void {
    const ready = this.waiters.filter((waiter) => this.received >= waiter.target);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => this.received < waiter.target);
    for (const waiter of ready) waiter.resolve();
  }
}

/** `<epoch ms>|<sequence>|payload`, as messages.ts `timedBody` writes it. */
function parseBody(body: unknown): { sentAt: number; sequence: number } {
  if (!(body instanceof Uint8Array)) return { sentAt: Number.NaN, sequence: -1 };
  const head = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, 40)).toString('latin1');
  const [sentAt = '', sequence = ''] = head.split('|', 2);
  return { sentAt: Number(sentAt), sequence: sequence === '' ? -1 : Number(sequence) };
}
