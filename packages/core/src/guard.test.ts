import { diag } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runHook, safely } from './guard';

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
