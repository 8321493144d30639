import {
  type Attributes,
  type AttributeValue,
  type Context,
  context,
  type Exception,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type TimeInput,
  type Tracer,
  type TracerOptions,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { FaultSwitch } from './otel-faults';

/**
 * A span of a real SDK whose methods throw while their fault is selected, and otherwise do what
 * the SDK's do: with no fault selected, spans are recorded and exported as usual.
 */
class FaultySpan implements Span {
  constructor(
    private readonly span: Span,
    private readonly faults: FaultSwitch,
  ) {}

  spanContext(): SpanContext {
    return this.span.spanContext();
  }

  isRecording(): boolean {
    return this.span.isRecording();
  }

  setAttribute(key: string, value: AttributeValue): this {
    this.faults.trip('span.setAttribute');
    this.span.setAttribute(key, value);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    this.faults.trip('span.setAttributes');
    this.span.setAttributes(attributes);
    return this;
  }

  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    this.faults.trip('span.addEvent');
    this.span.addEvent(name, attributesOrStartTime, startTime);
    return this;
  }

  addLink(link: Link): this {
    this.faults.trip('span.addLink');
    this.span.addLink(link);
    return this;
  }

  addLinks(links: Link[]): this {
    this.faults.trip('span.addLinks');
    this.span.addLinks(links);
    return this;
  }

  setStatus(status: SpanStatus): this {
    this.faults.trip('span.setStatus');
    this.span.setStatus(status);
    return this;
  }

  updateName(name: string): this {
    this.faults.trip('span.updateName');
    this.span.updateName(name);
    return this;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    this.faults.trip('span.recordException');
    this.span.recordException(exception, time);
  }

  end(endTime?: TimeInput): void {
    this.faults.trip('span.end');
    this.span.end(endTime);
  }
}

class FaultyTracer implements Tracer {
  constructor(
    private readonly tracer: Tracer,
    private readonly faults: FaultSwitch,
  ) {}

  startSpan(name: string, options?: SpanOptions, parent?: Context): Span {
    this.faults.trip('tracer.startSpan');
    return new FaultySpan(this.tracer.startSpan(name, options, parent), this.faults);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    this.faults.trip('tracer.startActiveSpan');
    // The overloads: (name, fn), (name, options, fn), (name, options, context, fn).
    const fn = rest.pop() as (span: Span) => ReturnType<F>;
    const [options, parent] = rest as [SpanOptions | undefined, Context | undefined];
    const span = new FaultySpan(this.tracer.startSpan(name, options, parent), this.faults);
    return context.with(trace.setSpan(parent ?? context.active(), span), fn, undefined, span);
  }
}

/** Hands out tracers of `provider` whose spans (and span starts) throw while their fault is selected. */
export class FaultyTracerProvider implements TracerProvider {
  constructor(
    private readonly provider: TracerProvider,
    private readonly faults: FaultSwitch,
  ) {}

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    return new FaultyTracer(this.provider.getTracer(name, version, options), this.faults);
  }
}
