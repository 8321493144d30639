import { type Attributes, SpanKind, type SpanOptions } from '@opentelemetry/api';
import { Attr, type MessagingSystem, type OperationType } from './semconv';
import { SEMCONV_NAMES, type SemconvNames, setRenamed } from './semconv-stability';

/**
 * Destination naming shared by span names and metric labels. Server-named and reply queues are
 * unique per connection or request: putting them in span names or labels would make both
 * unbounded, so they are folded into one value.
 */

export const TEMPORARY_DESTINATION = '(temporary)';

const TEMPORARY_PREFIXES = ['amq.gen-', 'amq.rabbitmq.reply-to'];

/** True for broker-generated or reply-to destinations whose names are unique per use. */
export function isTemporaryDestination(name: string): boolean {
  return TEMPORARY_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** Span name `{operation} {destination}`, leaving temporary destinations out. */
export function spanName(operation: string, destination: string | undefined): string {
  if (destination === undefined || destination === '' || isTemporaryDestination(destination)) {
    return operation;
  }
  return `${operation} ${destination}`;
}

/** Destination as a metric label: temporary names folded so the label set stays bounded. */
export function destinationLabel(destination: string): string {
  return isTemporaryDestination(destination) ? TEMPORARY_DESTINATION : destination;
}

/**
 * What every span of one operation on one destination has in common, built once and shared by
 * all its messages: the span name and kind, and the attributes the messaging conventions call
 * sampling-relevant (system, operation name and type, destination). Frozen: the SDK copies what it
 * is given, so one object serves every span.
 */
export interface SpanTarget {
  readonly name: string;
  readonly kind: SpanKind;
  /** The sampling-relevant attributes. */
  readonly attributes: Attributes;
  /** `startSpan` options carrying them, for a root span: its sampler may decide on them. */
  readonly withAttributes: SpanOptions;
  /** `startSpan` options without them, under an unsampled parent (see `underUnsampledParent`). */
  readonly bare: SpanOptions;
}

/** Destinations whose targets one `SpanTargets` keeps at most; a backstop, like the label caches. */
const MAX_CACHED_TARGETS = 1_000;

/** The span targets of one system and operation, by destination, built on first use. */
export class SpanTargets {
  private readonly byDestination = new Map<string, SpanTarget>();

  /**
   * @param operationName `messaging.operation.name`, also the first word of the span name.
   * @param semconv names of renamed attributes. Default: the process's, from `OTEL_SEMCONV_STABILITY_OPT_IN`.
   */
  constructor(
    private readonly system: MessagingSystem,
    private readonly operationName: string,
    private readonly operationType: OperationType,
    private readonly semconv: SemconvNames = SEMCONV_NAMES,
  ) {}

  get(destination: string): SpanTarget {
    let target = this.byDestination.get(destination);
    if (target === undefined) {
      target = spanTarget(this.system, this.operationName, this.operationType, destination, this.semconv);
      if (this.byDestination.size >= MAX_CACHED_TARGETS) this.byDestination.clear();
      this.byDestination.set(destination, target);
    }
    return target;
  }
}

/** The target of one operation on one destination (see `SpanTarget`); `SpanTargets` caches them. */
export function spanTarget(
  system: MessagingSystem,
  operationName: string,
  operationType: OperationType,
  destination: string,
  semconv: SemconvNames = SEMCONV_NAMES,
): SpanTarget {
  const attributes: Attributes = {
    [Attr.OPERATION_NAME]: operationName,
    [Attr.OPERATION_TYPE]: operationType,
    [Attr.DESTINATION_NAME]: destination,
  };
  setRenamed(attributes, semconv.SYSTEM, system);
  if (isTemporaryDestination(destination)) attributes[Attr.DESTINATION_TEMPORARY] = true;
  Object.freeze(attributes);
  const kind = spanKindOf(operationType);
  return Object.freeze({
    name: spanName(operationName, destination),
    kind,
    attributes,
    withAttributes: Object.freeze({ kind, attributes }),
    bare: Object.freeze({ kind }),
  });
}

function spanKindOf(operationType: OperationType): SpanKind {
  if (operationType === 'send' || operationType === 'create') return SpanKind.PRODUCER;
  if (operationType === 'process') return SpanKind.CONSUMER;
  return SpanKind.CLIENT;
}
