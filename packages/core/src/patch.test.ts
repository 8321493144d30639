import { InstrumentationBase } from '@opentelemetry/instrumentation';
import { describe, expect, it } from 'vitest';
import { hasForeignWrapper, type MethodPatch, type Shim, unwrapAll, unwrapped, wrapAll } from './patch';

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

  it("goes around another instrumentation's wrapper and reports it", () => {
    const target = client();
    const other = new TestInstrumentation().shim;
    const timesTen = (original: (x: number) => number) =>
      function (this: unknown, x: number) {
        return original.call(this, x) * 10;
      };
    other.wrap(target, 'send', timesTen);
    expect(hasForeignWrapper(target.send)).toBe(true);
    const foreign: string[] = [];
    wrapAll(shim, [{ target, method: 'send', wrapper: plusOne }], (method) => foreign.push(method));
    expect(target.send(2)).toBe(5);
    expect(foreign).toEqual(['send']);
    expect(hasForeignWrapper(target.send)).toBe(false);
  });

  it('finds the client method beneath stacked wrappers', () => {
    const target = client();
    const own = target.send;
    const other = new TestInstrumentation().shim;
    other.wrap(target, 'send', plusOne);
    other.wrap(target, 'send', plusOne);
    expect(unwrapped(target.send)).toBe(own);
  });
});
