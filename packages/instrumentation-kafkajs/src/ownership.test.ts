import { InstrumentationBase, isWrapped } from '@opentelemetry/instrumentation';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeKafkajs, fakeKafkajs } from './test-support/fake-kafkajs';
import { setupOtel, type TestOtel } from './test-support/otel';

// biome-ignore lint/suspicious/noExplicitAny: the fake contrib wraps methods of any signature.
type Method = (this: any, ...args: any[]) => any;

/**
 * What contrib's kafkajs instrumentation does to the module (0.33): unwrap whatever wraps
 * `Kafka.prototype.producer`, wrap it, and wrap `send` on every producer it returns.
 */
class FakeContrib extends InstrumentationBase {
  readonly sends: unknown[] = [];
  constructor() {
    super('@opentelemetry/instrumentation-kafkajs', '0.0.0', { enabled: false });
  }
  protected init() {
    return [];
  }
  patch(kafkajs: FakeKafkajs): void {
    const prototype = kafkajs.Kafka.prototype as unknown as Record<string, Method>;
    if (isWrapped(prototype.producer)) this._unwrap(prototype, 'producer');
    this._wrap(prototype, 'producer', (original: Method) => {
      const contrib = this;
      return function producer(this: unknown, ...args: unknown[]) {
        const created = original.apply(this, args);
        contrib._wrap(
          created,
          'send',
          (send: Method) =>
            function (this: unknown, ...sendArgs: unknown[]) {
              contrib.sends.push(sendArgs[0]);
              return send.apply(this, sendArgs);
            },
        );
        return created;
      };
    });
  }
}

describe('beside another kafkajs instrumentation', () => {
  let otel: TestOtel;
  let contrib: FakeContrib;
  let kafkajs: FakeKafkajs;
  const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);

  beforeEach(() => {
    otel = setupOtel();
    contrib = new FakeContrib();
    kafkajs = fakeKafkajs();
    warnings.mockClear();
  });
  afterEach(async () => {
    await otel.shutdown();
  });

  async function sendOne(exports: FakeKafkajs): Promise<void> {
    await new exports.Kafka({ clientId: 'app', brokers: ['b:9092'] }).producer().send({
      topic: 'orders',
      messages: [{ value: 'a' }],
    });
  }

  for (const order of ['mqtrail first', 'contrib first'] as const) {
    it(`traces each message once, mqtrail's way, when ${order} patched`, async () => {
      let exports: FakeKafkajs;
      if (order === 'mqtrail first') {
        exports = otel.patch(kafkajs);
        contrib.patch(exports);
      } else {
        contrib.patch(kafkajs);
        exports = otel.patch(kafkajs);
      }
      await sendOne(exports);
      expect(contrib.sends).toEqual([]);
      expect(otel.spans().map((span) => span.name)).toEqual(['send orders']);
      expect(otel.spans()[0]?.instrumentationScope.name).toBe('@mqtrail/instrumentation-kafkajs');
    });
  }

  it('adds nothing to a client when no other instrumentation is there', async () => {
    const exports = otel.patch(kafkajs);
    const kafka = new exports.Kafka({ clientId: 'app', brokers: ['b:9092'] });
    expect(Object.getOwnPropertyNames(kafka)).toEqual(['config']);
  });
});
