import { createFaultyOtel, createTestTelemetry } from '@mqtrail/test-support';
import { context, createContextKey, diag, ROOT_CONTEXT } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { callInContext, runHook, safely } from './guard';

describe('runHook', () => {
  afterEach(() => vi.restoreAllMocks());

  it('passes the arguments through', () => {
    const hook = vi.fn();
    runHook('publishHook', hook, 'span', { info: 1 });
    expect(hook).toHaveBeenCalledWith('span', { info: 1 });
  });

  it('reports a throwing hook to diag instead of the caller', () => {
    const error = vi.spyOn(diag, 'error').mockImplementation(() => {});
    expect(() =>
      runHook('consumeHook', () => {
        throw new Error('user bug');
      }),
    ).not.toThrow();
    expect(error).toHaveBeenCalledWith(expect.stringContaining('consumeHook'), expect.any(Error));
  });

  it('reports a rejecting async hook without an unhandled rejection', async () => {
    const error = vi.spyOn(diag, 'error').mockImplementation(() => {});
    runHook('consumeEndHook', async () => {
      throw new Error('async user bug');
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(error).toHaveBeenCalledWith(expect.stringContaining('consumeEndHook'), expect.any(Error));
  });

  it('does nothing without a hook', () => {
    expect(() => runHook('producerHook', undefined)).not.toThrow();
  });
});

describe('safely', () => {
  it('returns the fallback when instrumentation work fails', () => {
    vi.spyOn(diag, 'error').mockImplementation(() => {});
    expect(
      safely(
        'extract',
        () => {
          throw new Error('bug');
        },
        'fallback',
      ),
    ).toBe('fallback');
    expect(safely('extract', () => 'value', 'fallback')).toBe('value');
  });
});

describe('callInContext', () => {
  const telemetry = createTestTelemetry();
  const faulty = createFaultyOtel(telemetry);
  let restore = () => {};
  beforeAll(() => {
    restore = faulty.installGlobals();
  });
  afterAll(async () => {
    restore();
    await telemetry.shutdown();
  });
  afterEach(() => {
    faulty.select();
    vi.restoreAllMocks();
  });
  const key = createContextKey('guard test');
  const active = ROOT_CONTEXT.setValue(key, 'inside');

  it('runs the call inside the context and returns what it returns', () => {
    expect(callInContext(active, () => context.active().getValue(key))).toBe('inside');
  });

  it('lets what the call throws through, having run it once', () => {
    const failure = new Error('the application’s own');
    const call = vi.fn(() => {
      throw failure;
    });
    expect(() => callInContext(active, call)).toThrow(failure);
    expect(call).toHaveBeenCalledTimes(1);
  });

  it('still runs the call, once and outside the context, when the context manager throws', () => {
    const report = vi.spyOn(diag, 'error').mockImplementation(() => {});
    faulty.select('context.with');
    const call = vi.fn(() => 'result');
    expect(callInContext(active, call)).toBe('result');
    expect(call).toHaveBeenCalledTimes(1);
    expect(faulty.hits('context.with')).toBe(1);
    expect(report).toHaveBeenCalledWith(expect.stringContaining('entering a span context'), expect.any(Error));
  });

  it('lets the call’s own error through when the context manager throws too', () => {
    vi.spyOn(diag, 'error').mockImplementation(() => {});
    faulty.select('context.with');
    const failure = new Error('the application’s own');
    expect(() =>
      callInContext(active, () => {
        throw failure;
      }),
    ).toThrow(failure);
  });
});
