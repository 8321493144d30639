/**
 * Turns the TypeError an OpenTelemetry generation mismatch causes deep inside
 * `InstrumentationBase`'s constructor into a message that says what to install.
 *
 * `@opentelemetry/instrumentation` 0.30x (SDK 3.x) reads `logs` from `@opentelemetry/api`, which
 * only api 1.10 has; an application on api 1.9 (SDK 2.x) that ends up with it fails with
 * "Cannot read properties of undefined (reading 'getLogger')". mqtrail's instrumentations take both
 * packages from the application (peer dependencies), so the pair must be of one generation.
 * Constructs a throw-away, disabled instrumentation on the application's `InstrumentationBase`.
 */
/** `InstrumentationBase` from `@opentelemetry/instrumentation`, which the core does not import. */
export type InstrumentationBaseClass = abstract new (
  name: string,
  version: string,
  config: { enabled: boolean },
) => object;

export function assertSdkGeneration(packageName: string, base: InstrumentationBaseClass): void {
  try {
    class Probe extends base {
      protected init(): [] {
        return [];
      }
    }
    new Probe(`${packageName}/generation-probe`, '0.0.0', { enabled: false });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${packageName}: the application's @opentelemetry/instrumentation and @opentelemetry/api are of two ` +
        'OpenTelemetry generations, so no instrumentation can be constructed. Use one: SDK 2.x ' +
        '(@opentelemetry/api 1.9 with @opentelemetry/instrumentation 0.2xx) or SDK 3.x (api 1.10 with ' +
        `instrumentation 0.30x); \`npm ls @opentelemetry/api @opentelemetry/instrumentation\` shows which are installed. (${reason})`,
    );
  }
}
