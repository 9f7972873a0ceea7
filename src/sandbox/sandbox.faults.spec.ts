import { FaultInputError, SandboxFaults, parseFaultRequest, parseFaultSwitch } from './sandbox.faults.js';

describe(SandboxFaults.name, () => {
  let faults: SandboxFaults;

  beforeEach(() => {
    faults = new SandboxFaults();
  });

  it('applies a switch to the next n API calls only, then nothing', () => {
    faults.add([parseFaultSwitch({ status: 503, retryAfterSeconds: 2, count: 2 })]);
    expect(faults.take('api')).toEqual({ target: 'api', status: 503, retryAfterSeconds: 2 });
    expect(faults.take('api')).toEqual({ target: 'api', status: 503, retryAfterSeconds: 2 });
    expect(faults.take('api')).toBeUndefined();
  });

  it('keeps API switches away from token calls and token switches away from API calls', () => {
    faults.add([parseFaultSwitch({ status: 500 }), parseFaultSwitch({ target: 'token', status: 429 })]);
    expect(faults.take('token')?.status).toBe(429);
    expect(faults.take('token')).toBeUndefined();
    expect(faults.take('api')?.status).toBe(500);
  });

  it('lets an "any" switch hit whichever call comes first, in queue order', () => {
    faults.add([parseFaultSwitch({ target: 'any', reset: true }), parseFaultSwitch({ delayMs: 50 })]);
    expect(faults.take('token')).toEqual({ target: 'any', reset: true });
    expect(faults.take('api')).toEqual({ target: 'api', delayMs: 50 });
    expect(faults.pending()).toEqual([]);
  });

  it('applies queued switches first in, first out', () => {
    faults.apply(parseFaultRequest({ switches: [{ status: 429, retryAfterSeconds: 1 }, { status: 502 }] }));
    expect(faults.take('api')?.status).toBe(429);
    expect(faults.take('api')?.status).toBe(502);
  });

  it('defaults a switch to the API and a count of one', () => {
    expect(parseFaultSwitch({ status: 504 })).toEqual({ target: 'api', status: 504, count: 1 });
  });

  it.each([
    [null, 'JSON object'],
    [{}, 'needs status, delayMs or reset'],
    [{ status: 404 }, 'status must be one of'],
    [{ status: 503, count: 0 }, 'count'],
    [{ status: 503, target: 'db' }, 'target'],
    [{ delayMs: -1 }, 'delayMs'],
    [{ delayMs: 1.5 }, 'delayMs'],
    [{ reset: 'yes' }, 'reset'],
    [{ status: 503, reset: true }, 'exclude'],
    [{ retryAfterSeconds: 3 }, 'needs a status'],
    [{ status: 503, colour: 'red' }, 'unknown switch key'],
  ])('refuses the switch %j', (raw, message) => {
    expect(() => parseFaultSwitch(raw)).toThrow(FaultInputError);
    expect(() => parseFaultSwitch(raw)).toThrow(message);
  });

  it('validates a whole request before changing anything', () => {
    expect(() => parseFaultRequest({ switches: [{ status: 503 }, { status: 1 }] })).toThrow('switches[1]');
    expect(() => parseFaultRequest({ tokenTtlSeconds: 0 })).toThrow('tokenTtlSeconds');
    expect(() => parseFaultRequest({ expireTokens: false })).toThrow('expireTokens');
    expect(() => parseFaultRequest({ expireTokens: true, status: 503 })).toThrow('unknown key');
    expect(() => parseFaultRequest({ revokeTokens: 'yes' })).toThrow('revokeTokens');
    expect(faults.pending()).toEqual([]);
  });

  it('sets the token lifetime and the expiry cut-off from a request', () => {
    faults.apply(parseFaultRequest({ tokenTtlSeconds: 120, expireTokens: true }), 5000);
    expect(faults.tokenTtlSeconds).toBe(120);
    expect(faults.tokensValidFrom()).toBe(5000);
  });

  it('sets the revocation cut-off from a request, apart from the expiry cut-off', () => {
    faults.apply(parseFaultRequest({ revokeTokens: true }), 7000);
    expect(faults.tokensNotRevokedFrom()).toBe(7000);
    expect(faults.tokensValidFrom()).toBe(0);
    faults.revokeTokensIssuedBefore(6000);
    expect(faults.tokensNotRevokedFrom()).toBe(7000);
  });

  it('never moves the expiry cut-off backwards', () => {
    faults.expireTokensIssuedBefore(5000);
    faults.expireTokensIssuedBefore(4000);
    expect(faults.tokensValidFrom()).toBe(5000);
  });

  it('bounds the queue', () => {
    expect(() => faults.add(Array.from({ length: 101 }, () => parseFaultSwitch({ status: 503 })))).toThrow('at most');
  });

  it('reset empties the queue and restores the defaults', () => {
    faults.apply(parseFaultRequest({ switches: [{ status: 503 }], tokenTtlSeconds: 5, expireTokens: true, revokeTokens: true }));
    faults.reset();
    expect(faults.pending()).toEqual([]);
    expect(faults.tokenTtlSeconds).toBe(3600);
    expect(faults.tokensValidFrom()).toBe(0);
    expect(faults.tokensNotRevokedFrom()).toBe(0);
  });
});
