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
