import { isTemporaryDestination } from '@mqtrail/core';
import { formatDuration, formatTime, type Palette, palette, plural } from '../format';
import type { Chain, ChainHop, ChainMessage } from './model';

export interface RenderOptions {
  /** ANSI colours. Default false: the library never guesses about terminals. */
  color?: boolean;
  /** Add the one-line explanation of "waited" and "processed". Default true. */
  legend?: boolean;
}

const SUCCESS_OUTCOMES = new Set(['ack', 'commit', 'auto']);

/**
 * The chain as a tree, one line per message and per hop:
 *
 *   ● send orders · api · rabbitmq orders · routing key order.created
 *   └─▶ process orders · billing · waited 12 ms · processed 40 ms · ack
 *       └─● send payments · billing · kafka payments [0]
 *         └─▶ process payments · shipping · waited 5.10 s · processed 3 ms · commit  ◀ slowest
 *
 * Returns the text, ending with a newline; it writes nothing itself.
 */
export function renderChain(chain: Chain, options: RenderOptions = {}): string {
  const p = palette(options.color ?? false);
  const messages = new Map(chain.messages.map((message) => [message.sendSpanId, message]));
  const hops = new Map(chain.hops.map((hop) => [hop.spanId, hop]));
  const lines: string[] = [header(chain, p)];
  const shown = new Set<string>();

  const renderMessage = (message: ChainMessage, prefix: string, last: boolean, top: boolean): void => {
    const branch = top ? '' : last ? '└─' : '├─';
    lines.push(`${prefix}${branch}${messageLine(message, p)}`);
    const inner = top ? prefix : `${prefix}${last ? '  ' : '│ '}`;
    const children: ChainHop[] = message.deliveries.flatMap((id) => hops.get(id) ?? []);
    if (message.returned) {
      const reason = message.returnReason === undefined ? '' : ` (${message.returnReason})`;
      lines.push(
        `${inner}${children.length === 0 ? '└─' : '├─'}${p.yellow(`⮌ returned by the broker as unroutable${reason}`)}`,
      );
    }
    if (children.length === 0 && !message.returned && message.found && message.error === undefined) {
      lines.push(`${inner}└─${p.dim('(no consumer span in this trace)')}`);
    }
    for (const [index, hop] of children.entries()) renderHop(hop, inner, index === children.length - 1);
  };

  const renderHop = (hop: ChainHop, prefix: string, last: boolean): void => {
    const branch = last ? '└─' : '├─';
    if (shown.has(hop.spanId)) {
      lines.push(
        `${prefix}${branch}${p.dim(`▶ ${hop.operation} · ${hop.service} · batch of ${hop.batchSize}, shown above`)}`,
      );
      return;
    }
    shown.add(hop.spanId);
    lines.push(`${prefix}${branch}${hopLine(hop, chain, p)}`);
    const inner = `${prefix}${last ? '  ' : '│ '}`;
    const sent = hop.sent.flatMap((id) => messages.get(id) ?? []);
    for (const [index, message] of sent.entries()) renderMessage(message, inner, index === sent.length - 1, false);
  };

  for (const id of chain.rootMessages) {
    const message = messages.get(id);
    if (message !== undefined) renderMessage(message, '', true, true);
  }
  for (const id of chain.rootHops) {
    const hop = hops.get(id);
    if (hop !== undefined) renderHop(hop, '', true);
  }
  if (chain.messages.length === 0 && chain.hops.length === 0) lines.push(p.dim('(no messaging spans in this trace)'));
  if (options.legend ?? true) {
    lines.push(
      p.dim('waited = consume span start − send span start · processed = consume span duration (delivery to settle)'),
    );
  }
  return `${lines.join('\n')}\n`;
}

function header(chain: Chain, p: Palette): string {
  const [first, ...others] = chain.traceIds;
  const facts = [
    formatTime(chain.startUs),
    plural(chain.messages.length, 'message'),
    plural(chain.hops.length, 'hop'),
    plural(chain.services.length, 'service'),
    `took ${formatDuration(chain.endUs - chain.startUs)}`,
  ];
  if (chain.failures > 0) facts.push(p.red(plural(chain.failures, 'failure')));
  const linked = others.length > 0 ? `\n${p.dim(`linked traces: ${others.join(', ')}`)}` : '';
  return `${p.bold(`trace ${first ?? '?'}`)} · ${facts.join(' · ')}${linked}`;
}

function destinationText(destination: string | undefined): string | undefined {
  if (destination === undefined) return undefined;
  if (destination === '') return '(default exchange)';
  return isTemporaryDestination(destination) ? `${destination} (temporary)` : destination;
}

function messageLine(message: ChainMessage, p: Palette): string {
  if (!message.found) {
    return `● ${p.dim(`message ${message.sendSpanId} (its send span is not in the trace)`)}`;
  }
  const where = [message.system, destinationText(message.destination)].filter(Boolean).join(' ');
  const parts = [p.bold(message.operation ?? 'send'), p.cyan(message.service ?? '?')];
  if (where !== '') parts.push(message.partition === undefined ? where : `${where} [${message.partition}]`);
  if (message.routingKey !== undefined) parts.push(`routing key ${message.routingKey}`);
  if (message.key !== undefined) parts.push(`key ${message.key}`);
  if (message.messageId !== undefined) parts.push(`message id ${message.messageId}`);
  if (message.conversationId !== undefined) parts.push(`correlation id ${message.conversationId}`);
  let line = `● ${parts.join(' · ')}`;
  if (message.error !== undefined && !message.returned)
    line += `  ${p.red(`✗ send failed${errorText(message.error)}`)}`;
  return line;
}

function hopLine(hop: ChainHop, chain: Chain, p: Palette): string {
  const parts = [p.bold(hop.operation), p.cyan(hop.service)];
  if (hop.consumerGroup !== undefined) parts.push(`group ${hop.consumerGroup}`);
  if (hop.partition !== undefined && hop.offset !== undefined)
    parts.push(`partition ${hop.partition} offset ${hop.offset}`);
  if (hop.batchSize > 1) parts.push(`batch of ${hop.batchSize}`);
  if (hop.waitingUs !== undefined) {
    const skew = hop.waitingUs < 0 ? ' (clock skew)' : '';
    parts.push(`waited ${formatDuration(hop.waitingUs)}${skew}`);
  } else {
    parts.push(p.dim('waited ?'));
  }
  parts.push(`processed ${formatDuration(hop.processingUs)}`);
  const outcome = hop.outcome ?? (hop.error !== undefined ? 'error' : undefined);
  if (outcome !== undefined) {
    parts.push(
      SUCCESS_OUTCOMES.has(outcome) ? p.green(outcome) : outcome === 'requeue' ? p.yellow(outcome) : p.red(outcome),
    );
  } else if (hop.system !== 'kafka') {
    // kafkajs commits offsets later and for many messages at once: its spans carry no outcome.
    parts.push(p.dim('no outcome'));
  }
  if (hop.redelivered) parts.push(p.yellow('redelivered'));
  if (hop.duplicate) parts.push(p.yellow('duplicate'));
  if (hop.deadLetter !== undefined) parts.push(p.yellow(`arrived dead-lettered${deadLetterText(hop.deadLetter)}`));
  let line = `▶ ${parts.join(' · ')}`;
  if (hop.failed) line += `  ${p.red(`✗ failed${errorText(hop.error)}`)}`;
  if (chain.slowestHop === hop.spanId) line += `  ${p.yellow('◀ slowest')}`;
  return line;
}

function errorText(error: { type?: string; message?: string } | undefined): string {
  if (error === undefined) return '';
  const text = [error.type, error.message].filter(Boolean).join(': ');
  return text === '' ? '' : ` (${text})`;
}

function deadLetterText(attributes: Record<string, string>): string {
  const from = attributes.queue ?? attributes.source ?? attributes.exchange;
  const reason = attributes.reason;
  const parts = [from === undefined ? undefined : `from ${from}`, reason].filter(Boolean);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}
