import { type ContextManager, context, metrics, propagation, type TextMapPropagator, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';

let installed = false;

/**
 * Registers what an application's SDK set-up registers globally: the async-hooks context manager
 * and W3C trace-context and baggage propagation. Does nothing when they are already installed.
 */
export function installGlobals(): void {
  if (installed) return;
  installed = true;
  context.setGlobalContextManager(defaultContextManager());
  propagation.setGlobalPropagator(defaultPropagator());
}

/** A new enabled instance of the context manager `installGlobals` registers. */
export function defaultContextManager(): ContextManager {
  return new AsyncLocalStorageContextManager().enable();
}

/** A new instance of the propagator `installGlobals` registers: W3C trace context and baggage. */
export function defaultPropagator(): TextMapPropagator {
  return new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
}

/**
 * Removes every global registration — context manager, propagator, tracer and meter providers — so
 * that the next `installGlobals()` registers afresh.
 */
export function uninstallGlobals(): void {
  installed = false;
  context.disable();
  propagation.disable();
  trace.disable();
  metrics.disable();
}
