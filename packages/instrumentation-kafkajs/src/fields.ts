/** A value kafkajs hands us, checked only to be an object: its fields are read as `unknown`. */
export type Fields = Record<string, unknown>;

export function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null;
}
