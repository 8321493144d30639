import { beforeEach, describe, expect, it } from 'vitest';
import { toOtlp } from '../test-support/otlp';
import { shopTrace } from '../test-support/shop-trace';
import { resetIds } from '../test-support/traces';
import { readTrace } from './messaging-span';
import { hexId, readOtlpRequest, readOtlpSpan } from './otlp';

beforeEach(resetIds);

describe('readOtlpSpan', () => {
  it('reads a span from the span topic as readSpan reads its Jaeger rendering', () => {
    const { trace } = shopTrace();
    const fromJaeger = readTrace(trace);
    const fromOtlp = toOtlp(trace).flatMap(readOtlpRequest);
    const byId = new Map(fromOtlp.map((span) => [span.spanId, span]));
    for (const span of fromJaeger) expect(byId.get(span.spanId)).toEqual(span);
  });

  it('reads the OTLP/JSON encodings: enum names, base64 ids, integers as numbers', () => {
    const span = readOtlpSpan(
      {
        traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex').toString('base64'),
        spanId: 'B7AD6B7169203331',
        name: 'send orders',
        kind: 'SPAN_KIND_PRODUCER',
        startTimeUnixNano: 1_767_225_600_000_000_000,
        endTimeUnixNano: '1767225600002000000',
        attributes: [
          { key: 'messaging.system', value: { stringValue: 'kafka' } },
          { key: 'messaging.destination.name', value: { stringValue: 'orders' } },
          { key: 'messaging.batch.message_count', value: { intValue: 3 } },
        ],
        status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
      },
      'api',
    );
    expect(span).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      role: 'send',
      startUs: 1_767_225_600_000_000,
      durationUs: 2_000,
      destination: 'orders',
      batchCount: 3,
      error: { message: 'boom' },
    });
    expect(hexId('', 8)).toBe('');
  });
});
