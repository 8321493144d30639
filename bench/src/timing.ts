import { setImmediate as nextTurn } from 'node:timers/promises';

/** `global.gc` exists because every child runs with `--expose-gc`. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('children must run with --expose-gc');
  gc();
  gc();
}

/** heapUsed after a full collection. */
export function settledHeapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

export function nowNs(): bigint {
  return process.hrtime.bigint();
}

/** One operation of a hot-path workload: how to run a step of `count` messages. */
export interface HotOp<Chunk = unknown> {
  name: string;
  /** Messages prepared at once, untimed; a multiple of the batch size. Default: all of them. */
  chunk?: number;
  /** Builds the input of `count` messages (unique offsets and ids), before the clock starts. */
  prepare?: (count: number) => Chunk;
  /** Runs `count` messages starting at `index` of the prepared chunk. */
  step: (chunk: Chunk, index: number, count: number) => unknown;
}

/**
 * Runs `total` messages through `op` in steps of `batch`, yielding to the event loop between
 * steps as a real client does between socket reads. The yield matters: without it the
 * BatchSpanProcessor's timer never fires inside a synchronous loop, its queue fills, and spans
 * are dropped instead of exported, which would flatter the instrumented variants.
 *
 * Preparing input (consumed messages with unique offsets and trace ids) is not timed, so building
 * the synthetic input is nobody's cost. Returns the elapsed nanoseconds of the timed parts.
 */
export async function timeMessages<Chunk>(op: HotOp<Chunk>, total: number, batch: number): Promise<number> {
  const chunkSize = Math.max(batch, op.chunk ?? total);
  let elapsed = 0n;
  for (let chunkStart = 0; chunkStart < total; chunkStart += chunkSize) {
    const chunkCount = Math.min(chunkSize, total - chunkStart);
    const prepared = op.prepare?.(chunkCount) as Chunk;
    const started = nowNs();
    for (let index = 0; index < chunkCount; index += batch) {
      await op.step(prepared, index, Math.min(batch, chunkCount - index));
      await nextTurn();
    }
    elapsed += nowNs() - started;
  }
  return Number(elapsed);
}
