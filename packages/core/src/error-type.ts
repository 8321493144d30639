/** Longest `error.type` kept: it is a metric label, so it must stay short and low-cardinality. */
const MAX_ERROR_TYPE_LENGTH = 64;

/**
 * `error.type` for a thrown value: the error class name (`KafkaJSNumberOfRetriesExceeded`), as the
 * semantic conventions recommend, never the message, which may carry ids. `_OTHER` when unknown.
 */
export function errorType(error: unknown): string {
  try {
    if (error instanceof Error) {
      const name = error.name && error.name !== 'Error' ? error.name : error.constructor?.name;
      if (name) return name.slice(0, MAX_ERROR_TYPE_LENGTH);
    }
    if (typeof error === 'object' && error !== null) {
      const name = (error as { name?: unknown }).name;
      if (typeof name === 'string' && name !== '') return name.slice(0, MAX_ERROR_TYPE_LENGTH);
    }
  } catch {
    // A hostile getter on a thrown value: fall through to the generic type.
  }
  return '_OTHER';
}
