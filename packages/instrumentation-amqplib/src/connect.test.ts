import { describe, expect, it } from 'vitest';
import { connect, serverOfChannel } from './connect';
import { resolveConfig } from './types';

type Open = (error: unknown, connection?: object) => void;

describe('connect', () => {
  it('remembers the broker of each connection, without credentials, and passes everything through', () => {
    const connection = {};
    const calls: unknown[][] = [];
    const original = (url: unknown, socketOptions: unknown, open: Open) => {
      calls.push([url, socketOptions]);
      open(null, connection);
      return 'returned';
    };
    let opened: unknown;
    const result = connect(original)(
      'amqp://app:s3cret@mq.internal:5673',
      { noDelay: true },
      (error: unknown, c: unknown) => {
        opened = [error, c];
      },
    );
    expect(result).toBe('returned');
    expect(calls).toEqual([['amqp://app:s3cret@mq.internal:5673', { noDelay: true }]]);
    expect(opened).toEqual([null, connection]);
    expect(serverOfChannel({ connection })).toEqual({ address: 'mq.internal', port: 5673 });
  });

  it('falls back to the socket’s peer when connect was not seen, and to nothing for garbage', () => {
    expect(serverOfChannel({ connection: { stream: { remoteAddress: '10.0.0.9', remotePort: 5672 } } })).toEqual({
      address: '10.0.0.9',
      port: 5672,
    });
    expect(serverOfChannel({ connection: { stream: {} } })).toBeUndefined();
    expect(serverOfChannel(null)).toBeUndefined();
  });
});

describe('resolveConfig', () => {
  it('merges defaults in one place and rejects timeouts that are not positive numbers', () => {
    expect(resolveConfig()).toMatchObject({
      useLinksForConsume: false,
      consumeTimeoutMs: 60_000,
      confirmTimeoutMs: 60_000,
      captureBodySize: false,
    });
    expect(resolveConfig({ consumeTimeoutMs: -1, confirmTimeoutMs: Number.NaN }).consumeTimeoutMs).toBe(60_000);
    expect(resolveConfig({ consumeTimeoutMs: 10, useLinksForConsume: true })).toMatchObject({
      consumeTimeoutMs: 10,
      useLinksForConsume: true,
    });
  });
});
