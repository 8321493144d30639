import { InstrumentationBase } from '@opentelemetry/instrumentation';
import { describe, expect, it } from 'vitest';
import { assertSdkGeneration, type InstrumentationBaseClass } from './sdk-generation';

describe('assertSdkGeneration', () => {
  it('passes when the instrumentation base can be constructed', () => {
    expect(() => assertSdkGeneration('@mqtrail/test', InstrumentationBase)).not.toThrow();
  });

  it("names the two packages and the fix instead of the base class's TypeError", () => {
    // What InstrumentationBase 0.30x does on @opentelemetry/api 1.9, which has no `logs`.
    const logs = undefined as unknown as { getLogger(): unknown };
    abstract class MismatchedBase {
      constructor() {
        logs.getLogger();
      }
    }
    expect(() => assertSdkGeneration('@mqtrail/test', MismatchedBase as InstrumentationBaseClass)).toThrow(
      /@mqtrail\/test: the application's @opentelemetry\/instrumentation and @opentelemetry\/api are of two OpenTelemetry generations.*reading 'getLogger'/,
    );
  });
});
