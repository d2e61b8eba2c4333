// The OTLP/HTTP receiver writes its answers' Date header itself (src/otlp/http-date.ts) rather than through
// Node's cache, whose timer woke the sidecar once a second: every answer, success or refusal, still carries
// the current second as an IMF-fixdate (RFC 9110, 5.6.7).
import { createHook } from 'node:async_hooks';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTraceRequestPayload } from '../../bench/payloads.js';
import { httpDate } from '../../src/otlp/http-date.js';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.js';

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

describe('httpDate', () => {
  it('is the IMF-fixdate of the second, the same text throughout it', () => {
    const second = Date.UTC(2026, 11, 1, 3, 4, 5);
    expect(httpDate(second)).toBe('Tue, 01 Dec 2026 03:04:05 GMT');
    expect(httpDate(second + 999)).toBe('Tue, 01 Dec 2026 03:04:05 GMT');
    expect(httpDate(second + 1000)).toBe('Tue, 01 Dec 2026 03:04:06 GMT');
    expect(httpDate(second - 1)).toBe('Tue, 01 Dec 2026 03:04:04 GMT');
    expect(httpDate()).toMatch(IMF_FIXDATE);
  });
});

describe('OTLP/HTTP answers', () => {
  let harness: TestSidecar;
  beforeAll(async () => {
    harness = await startTestSidecar();
  });
  afterAll(async () => harness.stop());

  /** The answer's status and Date header, with the clock read before and after. */
  async function dated(path: string, body: Uint8Array) {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const response = await fetch(`${harness.httpUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf' },
      body,
    });
    await response.arrayBuffer();
    const after = Date.now();
    return { status: response.status, date: response.headers.get('date') ?? '', before, after };
  }

  it('carry the current second in one Date header, on success and on refusal', async () => {
    for (const [path, status] of [
      ['/v1/traces', 200],
      ['/v1/nothing', 404],
    ] as const) {
      const answer = await dated(path, buildTraceRequestPayload({ spans: 4 }));
      expect(answer.status).toBe(status);
      expect(answer.date).toMatch(IMF_FIXDATE);
      const at = Date.parse(answer.date);
      expect(at).toBeGreaterThanOrEqual(answer.before);
      expect(at).toBeLessThanOrEqual(answer.after);
    }
  });

  it("do not use Node's Date cache, whose timer wakes the loop at the next second", async () => {
    // Node's cache (lib/internal/http.js utcDate) arms an unref'd `resetCache` timer when it writes its text
    // and forgets it at the next second (that timer runs before ours): start in a second where it is empty.
    await new Promise((resolve) => setTimeout(resolve, 1100 - (Date.now() % 1000)));
    const armed: string[] = [];
    const hook = createHook({
      init(_id, type, _trigger, resource: { _onTimeout?: { name?: string } }) {
        if (type === 'Timeout') armed.push(resource._onTimeout?.name ?? '');
      },
    });
    const plain: Server = createServer((_request, response) => response.end());
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    hook.enable();
    try {
      await dated('/v1/traces', buildTraceRequestPayload({ spans: 4 }));
      await dated('/v1/nothing', buildTraceRequestPayload({ spans: 4 }));
      const byReceiver = armed.filter((name) => name === 'resetCache').length;
      // The same second, a plain node:http answer does arm it: the check above can see Node's cache.
      const { port } = plain.address() as AddressInfo;
      await (await fetch(`http://127.0.0.1:${port}/`)).arrayBuffer();
      expect(byReceiver).toBe(0);
      expect(armed.filter((name) => name === 'resetCache').length).toBe(1);
    } finally {
      hook.disable();
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
