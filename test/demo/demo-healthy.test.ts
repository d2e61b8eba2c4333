// `npm run demo -- --healthy` end to end, on the compressed profile: the same rollout of a change that
// does not regress ends `pass` -> promote, and the flag service promotes the flag to 100%.
import { describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../../demo/run-demo.js';
import { FAST_PROFILE } from '../../demo/profile.js';
import { verifyWebhookSignature } from '../../src/publish/webhook-signature.js';
import { CapturedOutput } from './demo-output.js';

describe('npm run demo -- --healthy', () => {
  let result: DemoResult;
  const out = new CapturedOutput();

  it('passes the canary and promotes the flag through the signed webhook', async () => {
    result = await runDemo({ mode: 'healthy', profile: FAST_PROFILE, out, isTTY: false });

    expect(result.verdict?.verdict, out.text).toBe('pass');
    expect(result.verdict?.action).toBe('promote');
    expect(result.flagPercent).toBe(100);
    expect(result.rolledBack).toBe(false);
    const pass = result.webhooks.find((w) => w.verdict === 'pass');
    expect(pass?.applied).toBe('promote');
    expect(verifyWebhookSignature(result.webhookSecret, pass!.rawBody, pass!.signatureHeader).ok).toBe(true);
    expect(result.traffic.newFlow.requests).toBeGreaterThan(0);
    expect(out.text).toContain('verdict PASS -> promote');
    const verdictAt = out.text.indexOf('>> judge: verdict PASS -> promote');
    expect(verdictAt).toBeGreaterThanOrEqual(0);
    expect(out.text.indexOf('PROMOTED new-checkout-flow -> 100%')).toBeGreaterThan(verdictAt);
    expect(out.text).toMatch(/time to decide: +\d+(\.\d)? s after the rollout started/);
  }, 90_000);

  it('leaves nothing running: the sidecar API is closed', async () => {
    await expect(fetch(result.urls.analysis)).rejects.toThrow();
  });
});
