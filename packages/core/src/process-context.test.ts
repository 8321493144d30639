import { installTestTelemetry } from '@mqtrail/test-support';
import { context, createContextKey, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { beforeEach, describe, expect, it } from 'vitest';
import { type ChainFacts, getChainFacts, setChainFacts } from './chain-header';
import { processContext } from './process-context';

const telemetry = installTestTelemetry();
const tracer = trace.getTracer('test');
const USER_KEY = createContextKey('an application value');
const chain: ChainFacts = { sentAt: 1, originAt: 0, hops: 2 };

/** What processContext replaces: the API's own two copies. */
function twoCopies(parent = ROOT_CONTEXT) {
  const span = tracer.startSpan('process', {}, parent);
  return { span, expected: setChainFacts(trace.setSpan(parent, span), chain) };
}

describe('processContext', () => {
  beforeEach(() => telemetry.reset());

  it('answers for the span, the chain facts and every value of its parent, like two setValue copies', () => {
    const baggage = propagation.createBaggage({ tenant: { value: 'a' } });
    const parent = propagation.setBaggage(ROOT_CONTEXT.setValue(USER_KEY, 'kept'), baggage);
    const { span, expected } = twoCopies(parent);
    const ctx = processContext(parent, span, chain);
    expect(trace.getSpan(ctx)).toBe(span);
    expect(getChainFacts(ctx)).toBe(chain);
    expect(ctx.getValue(USER_KEY)).toBe('kept');
    expect(propagation.getBaggage(ctx)).toBe(baggage);
    for (const key of [USER_KEY, createContextKey('absent')]) expect(ctx.getValue(key)).toBe(expected.getValue(key));
  });

  it('derives contexts that keep the span, the chain and the parent, as the API would', () => {
    const parent = ROOT_CONTEXT.setValue(USER_KEY, 'kept');
    const { span } = twoCopies(parent);
    const ctx = processContext(parent, span, chain);
    const other = createContextKey('set in the handler');
    const derived = ctx.setValue(other, 42);
    expect(derived.getValue(other)).toBe(42);
    expect(trace.getSpan(derived)).toBe(span);
    expect(getChainFacts(derived)).toBe(chain);
    expect(derived.getValue(USER_KEY)).toBe('kept');
    // The process context itself is unchanged by what was derived from it.
    expect(ctx.getValue(other)).toBeUndefined();

    const withoutSpan = trace.deleteSpan(ctx);
    expect(trace.getSpan(withoutSpan)).toBeUndefined();
    expect(getChainFacts(withoutSpan)).toBe(chain);
    expect(trace.getSpan(ctx)).toBe(span);
  });

  it('is the parent of spans started in the handler, through the context manager', async () => {
    const { span } = twoCopies();
    const ctx = processContext(ROOT_CONTEXT, span, chain);
    const child = context.with(ctx, () => {
      expect(trace.getActiveSpan()).toBe(span);
      expect(getChainFacts(context.active())).toBe(chain);
      return tracer.startSpan('child');
    });
    child.end();
    span.end();
    const [ended] = (await telemetry.spans()).filter((s) => s.name === 'child');
    expect(ended?.parentSpanContext?.spanId).toBe(span.spanContext().spanId);
    expect(ended?.spanContext().traceId).toBe(span.spanContext().traceId);
  });
});
