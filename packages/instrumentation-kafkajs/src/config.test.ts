import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config';

describe('resolveConfig', () => {
  it('applies the defaults', () => {
    const config = resolveConfig({});
    expect(config).toMatchObject({
      useLinksForConsume: false,
      captureMessageKey: true,
      captureBodySize: false,
      producerHook: undefined,
      consumerHook: undefined,
    });
    expect(config.isIgnored('orders')).toBe(false);
  });

  it('matches ignored topics by name and pattern, without RegExp state between calls', () => {
    const global = /^audit\./g;
    const config = resolveConfig({ ignoreTopics: ['health', global] });
    expect(config.isIgnored('health')).toBe(true);
    expect(config.isIgnored('healthy')).toBe(false);
    expect([1, 2, 3].map(() => config.isIgnored('audit.login'))).toEqual([true, true, true]);
    expect(global.lastIndex).toBe(0);
  });

  it('ignores option values of the wrong type rather than failing', () => {
    const config = resolveConfig({
      captureMessageKey: 'no' as never,
      producerHook: 'not a function' as never,
      ignoreTopics: 'orders' as never,
    });
    expect(config.captureMessageKey).toBe(true);
    expect(config.producerHook).toBeUndefined();
    expect(config.isIgnored('orders')).toBe(false);
  });
});
