// Listener checks: what counts as loopback, which listeners a start warns about, and bind failures told
// in terms of the setting and environment variable that fix them.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import {
  describeListenError,
  isLoopbackHost,
  listenerSpecs,
  openListenerWarnings,
} from '../src/listeners.js';

describe('listeners', () => {
  it('treats 127.0.0.0/8, ::1 and localhost as loopback, and every other host as reachable', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'canary-judge.local', '::ffff:10.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(false);
  });

  it('warns about the OTLP listeners only while otlp.authToken is unset', () => {
    const open = parseConfig({ otlp: { grpc: { host: '0.0.0.0' }, http: { host: '::' } } });
    const warnings = openListenerWarnings(listenerSpecs(open));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^otlp\.grpc listens on 0\.0\.0\.0:4317 without a bearer token: anyone who can reach it can send telemetry that decides verdicts; set otlp\.authToken \(CANARY_JUDGE_OTLP_AUTH_TOKEN\)/,
    );
    const guarded = parseConfig({ otlp: { grpc: { host: '0.0.0.0' }, authToken: 'x'.repeat(16) } });
    expect(openListenerWarnings(listenerSpecs(guarded))).toEqual([]);
    const disabled = parseConfig({ otlp: { grpc: { host: '0.0.0.0', enabled: false } } });
    expect(openListenerWarnings(listenerSpecs(disabled))).toEqual([]);
  });

  it('names the setting for an address that is not this machine’s and for a privileged port', () => {
    const [api] = listenerSpecs(parseConfig({ api: { host: '192.0.2.1', port: 80 } }));
    const notHere = Object.assign(new Error('listen EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL' });
    expect((describeListenError(notHere, api) as Error).message).toBe(
      "api cannot listen on 192.0.2.1:80: the address is not one of this machine's; set api.host (CANARY_JUDGE_API_HOST)",
    );
    const privileged = Object.assign(new Error('listen EACCES'), { code: 'EACCES' });
    expect((describeListenError(privileged, api) as Error).message).toMatch(
      /choose a port from 1024 with api\.port \(CANARY_JUDGE_API_PORT\)$/,
    );
    const other = new Error('something else');
    expect(describeListenError(other, api)).toBe(other);
  });
});
