import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHAIN_HEADER_ENV, chainHeaderEnabled } from './chain-header-option';

describe('chainHeaderEnabled', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is on by default, off with MQTRAIL_CHAIN_HEADER=false in any case, and the config field wins', () => {
    expect(chainHeaderEnabled(undefined, {})).toBe(true);
    expect(chainHeaderEnabled(undefined, { [CHAIN_HEADER_ENV]: ' FALSE ' })).toBe(false);
    expect(chainHeaderEnabled(undefined, { [CHAIN_HEADER_ENV]: 'true' })).toBe(true);
    expect(chainHeaderEnabled(true, { [CHAIN_HEADER_ENV]: 'false' })).toBe(true);
    expect(chainHeaderEnabled(false, {})).toBe(false);
  });

  it('keeps the header on for any other value, with one MqtrailWarning per value', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    expect(chainHeaderEnabled(undefined, { [CHAIN_HEADER_ENV]: 'off' })).toBe(true);
    expect(chainHeaderEnabled(undefined, { [CHAIN_HEADER_ENV]: 'off' })).toBe(true);
    expect(chainHeaderEnabled('no', { [CHAIN_HEADER_ENV]: 'nope' })).toBe(true);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0]?.[0]).toContain('MQTRAIL_CHAIN_HEADER must be "true" or "false", got "off"');
    expect(warn.mock.calls[0]?.[1]).toEqual({ type: 'MqtrailWarning', code: 'MQTRAIL_INVALID_ENV' });
  });
});
