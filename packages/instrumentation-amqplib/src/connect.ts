import { type AnyFunction, redactUrl, safely } from '@mqtrail/core';
import { diag } from '@opentelemetry/api';
import { type ServerInfo, serverFromUrl } from './attributes';

/**
 * The broker each amqplib connection talks to. amqplib's Connection does not keep the URL it was
 * opened with, so `connect` (lib/connect.js) is wrapped to remember host and port per connection.
 * Channels find it through their `connection` property.
 */
const servers = new WeakMap<object, ServerInfo | null>();

type OpenCallback = (this: unknown, error: unknown, connection: unknown, ...rest: unknown[]) => unknown;

/** Replaces lib/connect.js `connect(url, socketOptions, openCallback)`. */
export function connect(original: AnyFunction): AnyFunction {
  return function connect(
    this: unknown,
    url: unknown,
    socketOptions: unknown,
    openCallback: unknown,
    ...rest: unknown[]
  ) {
    if (typeof openCallback !== 'function') return original.call(this, url, socketOptions, openCallback, ...rest);
    const server = safely('reading the broker address', () => serverOf(url), undefined);
    const onOpen: OpenCallback = function (this: unknown, error, connection, ...more) {
      if (connection !== null && typeof connection === 'object') {
        safely('remembering the broker address', () => servers.set(connection, server ?? null), undefined);
      }
      return (openCallback as OpenCallback).call(this, error, connection, ...more);
    };
    return original.call(this, url, socketOptions, onOpen, ...rest);
  };
}

function serverOf(url: unknown): ServerInfo | undefined {
  const server = serverFromUrl(url);
  if (server === undefined && typeof url === 'string') {
    diag.debug(`mqtrail: cannot read the broker address from ${redactUrl(url)}; server.* attributes are left out`);
  }
  return server;
}

/**
 * Broker of a channel: from `connect` when it was patched, else from the socket (an IP address,
 * better than nothing when amqplib was loaded before the instrumentation).
 */
export function serverOfChannel(channel: unknown): ServerInfo | undefined {
  const connection = (channel as { connection?: unknown } | null)?.connection;
  if (connection === null || typeof connection !== 'object') return undefined;
  const known = servers.get(connection);
  if (known !== undefined) return known ?? undefined;
  const socket = (connection as { stream?: { remoteAddress?: unknown; remotePort?: unknown } }).stream;
  const address = socket?.remoteAddress;
  const port = socket?.remotePort;
  const fromSocket = typeof address === 'string' && typeof port === 'number' ? { address, port } : undefined;
  servers.set(connection, fromSocket ?? null);
  return fromSocket;
}
