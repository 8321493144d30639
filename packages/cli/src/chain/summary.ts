import { formatDuration, plural } from '../format';
import type { Chain } from './model';

/**
 * One line for a chain, as `mqtrail find` prints it:
 * `api → billing → shipping · 2 messages · 3 hops · ack×2 dead-letter×1 · 1 failure · took 1.20 s`
 */
export function summarizeChain(chain: Chain): string {
  const path: string[] = [];
  const events = [
    ...chain.messages.flatMap((m) =>
      m.service === undefined || m.sentAtUs === undefined ? [] : [[m.sentAtUs, m.service] as const],
    ),
    ...chain.hops.map((h) => [h.startUs, h.service] as const),
  ].sort((a, b) => a[0] - b[0]);
  for (const [, service] of events) if (path.at(-1) !== service) path.push(service);

  const outcomes = new Map<string, number>();
  for (const hop of chain.hops) {
    const outcome = hop.outcome ?? (hop.error ? 'error' : undefined);
    if (outcome === undefined) continue;
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  const parts = [
    path.length > 0 ? path.join(' → ') : '(no messaging spans)',
    plural(chain.messages.length, 'message'),
    plural(chain.hops.length, 'hop'),
  ];
  if (outcomes.size > 0) parts.push([...outcomes].map(([outcome, n]) => `${outcome}×${n}`).join(' '));
  const flags = [
    chain.hops.some((hop) => hop.redelivered) ? 'redelivered' : undefined,
    chain.hops.some((hop) => hop.duplicate) ? 'duplicate' : undefined,
    chain.messages.some((message) => message.returned) ? 'returned' : undefined,
  ].filter(Boolean);
  if (flags.length > 0) parts.push(flags.join(' '));
  if (chain.failures > 0) parts.push(plural(chain.failures, 'failure'));
  parts.push(`took ${formatDuration(chain.endUs - chain.startUs)}`);
  return parts.join(' · ');
}
