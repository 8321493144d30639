import {
  type Context,
  type ContextManager,
  context,
  propagation,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { defaultContextManager, defaultPropagator } from './globals';
import type { FaultSwitch } from './otel-faults';

/** The async-hooks context manager, except that `active` and `with` throw while their fault is selected. */
class FaultyContextManager implements ContextManager {
  constructor(
    private readonly manager: ContextManager,
    private readonly faults: FaultSwitch,
  ) {}

  active(): Context {
    this.faults.trip('context.active');
    return this.manager.active();
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    active: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    // Before `fn` runs: the manager could not enter the context, so the callback never ran.
    this.faults.trip('context.with');
    return this.manager.with(active, fn, thisArg, ...args);
  }

  bind<T>(active: Context, target: T): T {
    return this.manager.bind(active, target);
  }

  enable(): this {
    this.manager.enable();
    return this;
  }

  disable(): this {
    this.manager.disable();
    return this;
  }
}

/** W3C trace context and baggage, except that `inject` and `extract` throw while their fault is selected. */
class FaultyPropagator implements TextMapPropagator {
  constructor(
    private readonly propagator: TextMapPropagator,
    private readonly faults: FaultSwitch,
  ) {}

  inject(active: Context, carrier: unknown, setter: TextMapSetter): void {
    this.faults.trip('propagator.inject');
    this.propagator.inject(active, carrier, setter);
  }

  extract(active: Context, carrier: unknown, getter: TextMapGetter): Context {
    this.faults.trip('propagator.extract');
    return this.propagator.extract(active, carrier, getter);
  }

  fields(): string[] {
    return this.propagator.fields();
  }
}

/**
 * Registers a context manager and a propagator that throw while their faults are selected, in
 * place of the ones `installGlobals` registers; returns the function that puts those back.
 */
export function installFaultyGlobals(faults: FaultSwitch): () => void {
  context.disable();
  propagation.disable();
  context.setGlobalContextManager(new FaultyContextManager(defaultContextManager(), faults));
  propagation.setGlobalPropagator(new FaultyPropagator(defaultPropagator(), faults));
  return () => {
    context.disable();
    propagation.disable();
    context.setGlobalContextManager(defaultContextManager());
    propagation.setGlobalPropagator(defaultPropagator());
  };
}
