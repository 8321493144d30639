import { buildChain } from './chain/build';
import type { Chain } from './chain/model';
import { summarizeChain } from './chain/summary';
import { InvalidArgumentError } from './errors';
import type { JaegerClient } from './jaeger/client';
import type { JaegerTrace } from './jaeger/types';
import { namesOf, Read, ReadRenamed } from './spans/attributes';

/** What to look for: exactly one of a message id, a correlation id, a Kafka position or a routing key. */
export interface MessageQuery {
  messageId?: string;
  correlationId?: string;
  /** Kafka topic; with `partition`, and `offset` on top, narrows to one message. */
  topic?: string;
  partition?: string;
  offset?: string;
  routingKey?: string;
}

export interface FindOptions {
  /** Services to search; empty means every service Jaeger knows. */
  services?: readonly string[];
  /** Window on span start, epoch microseconds. */
  startUs: number;
  endUs: number;
  /** Most traces returned. */
  limit: number;
}

export interface FoundTrace {
  traceId: string;
  /** ISO time of the trace's first span. */
  start: string;
  /** The first span that matched: which operation in which service. */
  matched?: { service: string; operation: string; spanId: string };
  services: string[];
  summary: string;
  chain: Chain;
}

/**
 * The Jaeger tags that find a message: a span must carry all the tags of one of the sets. A query
 * on an attribute that semconv 1.45 renamed (routing key, Kafka offset) gives one set per name, as
 * Jaeger's search cannot say "either": applications on either side of
 * `OTEL_SEMCONV_STABILITY_OPT_IN` are found. Throws InvalidArgumentError, naming the option, for an
 * empty or ambiguous query.
 */
export function messageTags(query: MessageQuery): Record<string, string>[] {
  const kinds = [query.messageId, query.correlationId, query.topic, query.routingKey].filter((v) => v !== undefined);
  if (kinds.length === 0) {
    throw new InvalidArgumentError('find', 'needs one of --message-id, --correlation-id, --topic or --routing-key');
  }
  if (kinds.length > 1) {
    throw new InvalidArgumentError(
      'find',
      'takes only one of --message-id, --correlation-id, --topic or --routing-key',
    );
  }
  if (query.partition !== undefined && query.topic === undefined)
    throw new InvalidArgumentError('--partition', 'needs --topic');
  if (query.offset !== undefined && query.partition === undefined)
    throw new InvalidArgumentError('--offset', 'needs --topic and --partition');
  if (query.partition !== undefined && !/^\d+$/.test(query.partition)) {
    throw new InvalidArgumentError(
      '--partition',
      `must be a partition number like 0 (got ${JSON.stringify(query.partition)})`,
    );
  }
  if (query.offset !== undefined && !/^\d+$/.test(query.offset)) {
    throw new InvalidArgumentError('--offset', `must be an offset like 42 (got ${JSON.stringify(query.offset)})`);
  }
  for (const [option, value] of [
    ['--message-id', query.messageId],
    ['--correlation-id', query.correlationId],
    ['--topic', query.topic],
    ['--routing-key', query.routingKey],
  ] as const) {
    if (value === '') throw new InvalidArgumentError(option, 'must not be empty');
  }
  if (query.messageId !== undefined) return [{ [Read.MESSAGE_ID]: query.messageId }];
  if (query.correlationId !== undefined) return [{ [Read.MESSAGE_CONVERSATION_ID]: query.correlationId }];
  const { routingKey, offset } = query;
  if (routingKey !== undefined)
    return namesOf(ReadRenamed.RABBITMQ_ROUTING_KEY).map((name) => ({ [name]: routingKey }));
  const tags: Record<string, string> = { [Read.DESTINATION_NAME]: query.topic ?? '' };
  if (query.partition !== undefined) tags[Read.DESTINATION_PARTITION_ID] = query.partition;
  if (offset === undefined) return [tags];
  return namesOf(ReadRenamed.KAFKA_OFFSET).map((name) => ({ ...tags, [name]: offset }));
}

/** Traces holding a span that matches the query, newest first, each with its chain and a summary. */
export async function findMessageTraces(
  client: Pick<JaegerClient, 'findTraces' | 'services'>,
  query: MessageQuery,
  options: FindOptions,
): Promise<FoundTrace[]> {
  const tagSets = messageTags(query);
  const services = options.services?.length ? options.services : await client.services();
  const traces = new Map<string, JaegerTrace>();
  for (const service of services) {
    for (const tags of tagSets) {
      const page = await client.findTraces({
        service,
        tags,
        startUs: options.startUs,
        endUs: options.endUs,
        limit: options.limit,
      });
      for (const trace of page) if (!traces.has(trace.traceID)) traces.set(trace.traceID, trace);
    }
  }
  const found = [...traces.values()].map((trace) => {
    const chain = buildChain(trace);
    const result: FoundTrace = {
      traceId: trace.traceID,
      start: new Date(Math.floor(chain.startUs / 1_000)).toISOString(),
      services: [...new Set(Object.values(trace.processes).map((process) => process.serviceName))].sort(),
      summary: summarizeChain(chain),
      chain,
    };
    const matched = matchingSpan(trace, tagSets);
    if (matched !== undefined) result.matched = matched;
    return result;
  });
  found.sort((a, b) => b.start.localeCompare(a.start) || a.traceId.localeCompare(b.traceId));
  return found.slice(0, options.limit);
}

function matchingSpan(trace: JaegerTrace, tagSets: Record<string, string>[]): FoundTrace['matched'] {
  const wanted = tagSets.map((tags) => Object.entries(tags));
  const span = [...trace.spans]
    .sort((a, b) => a.startTime - b.startTime)
    .find((candidate) =>
      wanted.some((entries) =>
        entries.every(([key, value]) => candidate.tags?.some((tag) => tag.key === key && String(tag.value) === value)),
      ),
    );
  if (span === undefined) return undefined;
  return {
    service: trace.processes[span.processID]?.serviceName ?? '?',
    operation: span.operationName,
    spanId: span.spanID,
  };
}
