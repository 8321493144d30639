import { InstrumentationBase } from '@opentelemetry/instrumentation';
import { describe, expect, it } from 'vitest';
import { type MethodPatch, type Shim, unwrapAll, wrapAll } from './patch';

class TestInstrumentation extends InstrumentationBase {
  constructor() {
    super('test', '0.0.0', { enabled: false });
  }
  protected init() {
    return [];
  }
  get shim(): Shim {
    return { wrap: this._wrap, unwrap: this._unwrap };
  }
}

describe('wrapAll / unwrapAll', () => {
  const shim = new TestInstrumentation().shim;

  function client() {
    return {
      send(x: number) {
        return x * 2;
      },
    };
  }
  const plusOne = (original: (x: number) => number) =>
    function (this: unknown, x: number) {
      return original.call(this, x) + 1;
    };

  it('wraps and restores the listed methods', () => {
    const target = client();
    const patches: MethodPatch[] = [{ target, method: 'send', wrapper: plusOne }];
    wrapAll(shim, patches);
    expect(target.send(2)).toBe(5);
    unwrapAll(shim, patches);
    expect(target.send(2)).toBe(4);
  });

  it('does not stack wrappers when enabled twice', () => {
    const target = client();
    const patches: MethodPatch[] = [{ target, method: 'send', wrapper: plusOne }];
    wrapAll(shim, patches);
    wrapAll(shim, patches);
    expect(target.send(2)).toBe(5);
  });

  it('skips methods the client does not have', () => {
    const target = client();
    expect(() => wrapAll(shim, [{ target, method: 'sendBatch', wrapper: plusOne }])).not.toThrow();
    expect('sendBatch' in target).toBe(false);
  });
});
