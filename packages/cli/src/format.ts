/** Human formats shared by every command's text output. */

/** A duration in microseconds as people read it: `850 µs`, `12 ms`, `1.24 s`, `2m 05s`. */
export function formatDuration(us: number): string {
  if (!Number.isFinite(us)) return '?';
  if (us < 0) return `-${formatDuration(-us)}`;
  if (us < 1_000) return `${Math.round(us)} µs`;
  if (us < 10_000) return `${(us / 1_000).toFixed(1)} ms`;
  if (us < 1_000_000) return `${Math.round(us / 1_000)} ms`;
  if (us < 60_000_000) return `${(us / 1_000_000).toFixed(2)} s`;
  const totalSeconds = Math.round(us / 1_000_000);
  const hours = Math.floor(totalSeconds / 3_600);
  const minutes = Math.floor((totalSeconds % 3_600) / 60);
  const seconds = String(totalSeconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}h ${String(minutes).padStart(2, '0')}m ${seconds}s` : `${minutes}m ${seconds}s`;
}

/** Epoch microseconds as an ISO 8601 UTC time with milliseconds. */
export function formatTime(us: number): string {
  return new Date(Math.floor(us / 1_000)).toISOString();
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** ANSI styling that is the identity when colour is off, so renderers never branch on it. */
export interface Palette {
  dim(text: string): string;
  bold(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const sgr =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${open}m${text}\u001b[${close}m`;
const identity = (text: string): string => text;

export function palette(color: boolean): Palette {
  if (!color)
    return { dim: identity, bold: identity, red: identity, green: identity, yellow: identity, cyan: identity };
  return {
    dim: sgr(2, 22),
    bold: sgr(1, 22),
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
  };
}
