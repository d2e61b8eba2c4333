// Webhooks cannot be aimed inward (issue 12, finding 1): loopback, private, link-local (cloud metadata),
// multicast and other special-purpose addresses are refused unless allowed, on the address each
// connection actually uses (a name that later resolves to 127.0.0.1 is refused then: DNS rebinding),
// and nothing of a receiver's reply reaches the outcome.
import type { LookupAddress } from 'node:dns';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookAddressPolicy, type ResolveAll } from '../../src/publish/webhook-address-policy.js';
import { attemptWebhookDelivery } from '../../src/publish/webhook-delivery.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const receivers: WebhookReceiver[] = [];
afterEach(async () => {
  for (const receiver of receivers.splice(0)) await receiver.close();
});

async function receiver(port = 0, host = '127.0.0.1'): Promise<WebhookReceiver> {
  const started = await WebhookReceiver.start(port, host);
  receivers.push(started);
  return started;
}

function attempt(url: string, policy: WebhookAddressPolicy) {
  return attemptWebhookDelivery({
    url,
    body: '{"id":"e1"}',
    signatureHeaders: { 'x-canary-judge-signature': 't=1,v1=00' },
    eventId: 'e1',
    timeoutMs: 2_000,
    shutdownSignal: new AbortController().signal,
    nowMs: Date.now(),
    policy,
  });
}

/** A resolver that answers each call with the next address of `answers`. */
function rebinding(answers: string[]): ResolveAll {
  return (_hostname, _options, callback) => {
    const address = answers.shift() ?? '127.0.0.1';
    const family = address.includes(':') ? 6 : 4;
    callback(null, [{ address, family } satisfies LookupAddress]);
  };
}

describe('WebhookAddressPolicy', () => {
  it('names the kind of every special-purpose address it refuses, and lets public ones through', () => {
    const policy = new WebhookAddressPolicy();
    const kinds: Record<string, RegExp> = {
      '127.0.0.1': /loopback/,
      '::1': /loopback/,
      '::ffff:127.0.0.1': /loopback/,
      '10.1.2.3': /private/,
      '172.16.0.1': /private/,
      '192.168.1.1': /private/,
      'fd00:ec2::254': /unique-local/,
      '169.254.169.254': /link-local \(cloud metadata\)/,
      'fe80::1': /link-local/,
      '100.100.100.200': /carrier-grade NAT/,
      '224.0.0.1': /multicast/,
      'ff02::1': /multicast/,
      '0.0.0.0': /unspecified/,
      '255.255.255.255': /broadcast/,
    };
    for (const [address, kind] of Object.entries(kinds)) {
      expect(policy.refusal(address), address).toMatch(kind);
      expect(policy.refusal(address)).toContain('webhookDelivery.allowAddresses');
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '93.184.215.14'])
      expect(policy.refusal(address), address).toBeUndefined();
  });

  it('lets through exactly what allowAddresses names, as addresses or CIDR ranges', () => {
    const policy = new WebhookAddressPolicy(['127.0.0.2', '10.20.0.0/16', 'fd00:1::/32']);
    expect(policy.refusal('127.0.0.2')).toBeUndefined();
    expect(policy.refusal('127.0.0.1')).toMatch(/loopback/);
    expect(policy.refusal('10.20.99.1')).toBeUndefined();
    expect(policy.refusal('10.21.0.1')).toMatch(/private/);
    expect(policy.refusal('fd00:1:2::3')).toBeUndefined();
    expect(policy.refusal('fd00:2::3')).toMatch(/unique-local/);
  });
});

describe('webhook delivery and the address policy', () => {
  it('never connects to a loopback receiver that is not allowed, by IP, by name or by numeric tricks', async () => {
    const admin = await receiver();
    const policy = new WebhookAddressPolicy();
    const urls = [
      `http://127.0.0.1:${admin.port}/admin/delete`,
      `http://localhost:${admin.port}/admin/delete`,
      `http://user:pass@127.0.0.1:${admin.port}/admin`,
      `http://0x7f.1:${admin.port}/admin`,
      `http://2130706433:${admin.port}/admin`,
      `http://[::ffff:127.0.0.1]:${admin.port}/admin`,
    ];
    for (const url of urls) {
      const outcome = await attempt(url, policy);
      expect(outcome, url).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/loopback/) });
    }
    expect(admin.requests).toHaveLength(0);
  });

  it('refuses the cloud metadata address without a connection attempt', async () => {
    const outcome = await attempt('http://169.254.169.254/latest/meta-data/', new WebhookAddressPolicy());
    expect(outcome).toEqual({
      kind: 'refused',
      reason:
        '169.254.169.254 is a link-local (cloud metadata) address; webhooks may reach it only if webhookDelivery.allowAddresses (CANARY_JUDGE_WEBHOOK_ALLOW_ADDRESSES) names it',
    });
  });

  it('checks the address each connection resolves to, so a name rebound to loopback is refused at delivery', async () => {
    // The "public" receiver is 127.0.0.2 (allowed); the internal service listens on 127.0.0.1, same port.
    const internal = await receiver();
    const outside = await receiver(internal.port, '127.0.0.2');
    const policy = new WebhookAddressPolicy(['127.0.0.2'], rebinding(['127.0.0.2', '127.0.0.1']));
    const url = `http://hooks.example.test:${internal.port}/hooks/canary`;

    expect(await attempt(url, policy)).toEqual({ kind: 'delivered', status: 204 });
    expect(outside.requests).toHaveLength(1);
    const second = await attempt(url, policy);
    expect(second).toMatchObject({
      kind: 'refused',
      reason: expect.stringMatching(/^hooks\.example\.test resolves to 127\.0\.0\.1, a loopback address/),
    });
    expect(internal.requests).toHaveLength(0);
  });

  it('refuses a name when any of its addresses is refused, whichever one a connection would pick', async () => {
    const policy = new WebhookAddressPolicy([], (_hostname, _options, callback) =>
      callback(null, [
        { address: '93.184.215.14', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ]),
    );
    expect(await attempt('http://mixed.example.test/hook', policy)).toMatchObject({
      kind: 'refused',
      reason: expect.stringMatching(/resolves to 10\.0\.0\.5, a private address/),
    });
  });

  it('reports a refusing receiver by status only, never its reply body or status text', async () => {
    const allowed = await receiver();
    allowed.respond = () => ({ status: 403, body: 'internal secret: db-password=hunter2' });
    const outcome = await attempt(allowed.url, new WebhookAddressPolicy(['127.0.0.1']));
    expect(outcome).toEqual({ kind: 'failed', reason: 'HTTP 403 Forbidden' });
  });
});
