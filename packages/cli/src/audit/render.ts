import { formatDuration, type Palette, palette } from '../format';
import type { AuditReport, Finding, FindingKind, MessageRef } from './findings';
import { FINDING_KINDS } from './findings';
import type { PolicyBreach } from './policy';

export interface RenderAuditOptions {
  color?: boolean;
  /** Findings listed per kind before "… and N more". Default 20. */
  maxListed?: number;
  /** The policy breaches, for the closing PASS/FAIL line; omitted when undefined. */
  breaches?: PolicyBreach[];
}

const EXPLAIN: Record<FindingKind, string> = {
  lost: 'sent, never consumed within the grace period',
  duplicate: 'processed more than once by the same consumer',
  redelivered: 'redelivered by the broker',
  'dead-letter': 'dropped or dead-lettered by a consumer, or consumed from a dead-letter queue',
  failed: 'send or processing failed',
  slow: 'chains slower than --slow',
  returned: 'returned by the broker as unroutable (not counted as lost)',
};

/** The audit report as text: counts per kind, then the findings of each kind, then PASS or FAIL. */
export function renderAudit(report: AuditReport, options: RenderAuditOptions = {}): string {
  const p = palette(options.color ?? false);
  const maxListed = options.maxListed ?? 20;
  const { window, scanned, filters } = report;
  const scope = [
    filters.services.length > 0 ? `services ${filters.services.join(', ')}` : 'all services',
    filters.destinations.length > 0 ? `destinations ${filters.destinations.join(', ')}` : undefined,
  ].filter(Boolean);
  const lines = [
    p.bold(`audit ${window.start} → ${window.end}`) +
      ` · ${scope.join(' · ')} · grace ${formatDuration(window.graceMs * 1_000)}`,
    p.dim(
      `scanned ${scanned.traces} traces, ${scanned.spans} spans: ${scanned.messages} messages sent, ${scanned.deliveries} consumed`,
    ),
  ];
  if (report.incomplete !== undefined) lines.push(p.yellow(`incomplete: ${report.incomplete}`));
  lines.push('');
  for (const kind of FINDING_KINDS) {
    const count = report.counts[kind];
    const unchecked = kind === 'slow' && window.slowMs === undefined;
    const value = unchecked ? '-' : String(count);
    const shown = count > 0 ? (kind === 'returned' || kind === 'redelivered' ? p.yellow(value) : p.red(value)) : value;
    const note = unchecked
      ? 'not checked (set --slow)'
      : kind === 'slow'
        ? `chains slower than ${formatDuration((window.slowMs ?? 0) * 1_000)}`
        : EXPLAIN[kind];
    lines.push(`  ${kind.padEnd(12)} ${shown.padStart(6 + (shown.length - value.length))}  ${p.dim(note)}`);
  }
  for (const kind of FINDING_KINDS) {
    const list = report.findings[kind] as Finding[];
    if (list.length === 0) continue;
    lines.push('', p.bold(`${kind} (${list.length})`));
    for (const finding of list.slice(0, maxListed)) lines.push(`  ${findingLine(finding, p)}`);
    if (list.length > maxListed) lines.push(p.dim(`  … and ${list.length - maxListed} more (--json lists all)`));
  }
  if (options.breaches !== undefined) {
    lines.push('');
    if (options.breaches.length === 0) lines.push(p.green('PASS'));
    else {
      const why = options.breaches.map((b) => `${b.kind} ${b.count} > ${b.allowed}`).join(', ');
      lines.push(p.red(`FAIL: ${why}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

function messageText(ref: MessageRef): string {
  const parts: string[] = [];
  if (ref.service !== undefined) parts.push(`${ref.service} → ${ref.destination ?? '(default exchange)'}`);
  if (ref.messageId !== undefined) parts.push(`message id ${ref.messageId}`);
  if (ref.sentAt !== undefined) parts.push(`sent ${ref.sentAt}`);
  parts.push(`trace ${ref.traceId}${ref.sendSpanId === undefined ? '' : ` span ${ref.sendSpanId}`}`);
  return parts.join(' · ');
}

/** One finding as one line of text, as `audit` lists it and `audit --follow` prints it. */
export function renderFinding(finding: Finding, options: { color?: boolean } = {}): string {
  return `${finding.kind.padEnd(12)} ${findingLine(finding, palette(options.color ?? false))}`;
}

function findingLine(finding: Finding, p: Palette): string {
  switch (finding.kind) {
    case 'lost':
      return `${messageText(finding)} · ${p.red(`not consumed after ${formatDuration(finding.ageMs * 1_000)}`)}`;
    case 'returned':
      return messageText(finding);
    case 'duplicate': {
      const what = finding.times > 1 ? `processed it ${finding.times}×` : 'processed a copy it had seen before';
      return `${messageText(finding)} · ${p.red(`${finding.consumer}${at(finding.consumerDestination)} ${what}`)} (${finding.reasons.join(', ')})`;
    }
    case 'redelivered':
      return `${messageText(finding)} · redelivered to ${finding.consumer}${at(finding.consumerDestination)}`;
    case 'dead-letter': {
      const how = [
        finding.rejectedBy &&
          `${finding.rejectedBy.outcome} by ${finding.rejectedBy.service}${at(finding.rejectedBy.destination)}`,
        finding.arrivedAt && `arrived at ${finding.arrivedAt.service}${at(finding.arrivedAt.destination)}`,
      ].filter(Boolean);
      return `${messageText(finding)} · ${p.red(how.join(', '))}`;
    }
    case 'failed': {
      const what = [finding.errorType, finding.outcome].filter(Boolean).join(', ');
      return `${messageText(finding)} · ${p.red(`${finding.phase} failed in ${finding.failedAt.service ?? '?'}${at(finding.failedAt.destination)}${what ? ` (${what})` : ''}`)}`;
    }
    case 'slow': {
      const origin = finding.origin ? ` from ${finding.origin.service}${at(finding.origin.destination)}` : '';
      const hop = finding.slowestHop
        ? ` · slowest hop ${finding.slowestHop.service}${at(finding.slowestHop.destination)} ${formatDuration(finding.slowestHop.latencyMs * 1_000)}`
        : '';
      return `trace ${finding.traceId}${origin} · ${p.red(`took ${formatDuration(finding.durationMs * 1_000)}`)}${hop}`;
    }
  }
}

function at(destination: string | undefined): string {
  return destination === undefined ? '' : ` (${destination})`;
}
