// `npm run demo` end to end, on the compressed profile: a real sidecar judges the instrumented shop's
// telemetry, the new checkout flow regresses part way through the rollout, the verdict turns `fail`, the
// signed webhook reaches the flag service, and the flag goes back to 0%.
import { describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../../demo/run-demo.js';
import { FAST_PROFILE } from '../../demo/profile.js';
import { timeToDecideMs } from '../../demo/summary.js';
import { verifyWebhookSignature } from '../../src/publish/webhook-signature.js';
import { CapturedOutput } from './demo-output.js';

describe('npm run demo (a change that regresses)', () => {
  let result: DemoResult;
  const out = new CapturedOutput();

  it('fails the canary, rolls the flag back through the signed webhook, and prints a summary', async () => {
    result = await runDemo({ mode: 'bad', profile: FAST_PROFILE, out, isTTY: false });

    expect(result.verdict?.verdict, out.text).toBe('fail');
    expect(result.verdict?.action).toBe('rollback');
    expect(result.flagPercent).toBe(0);
    expect(result.rolledBack).toBe(true);

    const failEvents = result.webhooks.filter((w) => w.verdict === 'fail');
    expect(failEvents.length).toBeGreaterThanOrEqual(1);
    for (const delivery of result.webhooks) {
      // Checked here again, independently of the flag service: the raw body as received, its header.
      expect(
        verifyWebhookSignature(result.webhookSecret, delivery.rawBody, delivery.signatureHeader).ok,
      ).toBe(true);
      expect(
        verifyWebhookSignature(result.webhookSecret, `${delivery.rawBody} `, delivery.signatureHeader).ok,
      ).toBe(false);
    }
    expect(failEvents[0].applied).toBe('rollback');
    expect(JSON.parse(failEvents[0].rawBody)).toMatchObject({
      type: 'dev.canary-judge.verdict.changed',
      subject: 'checkout-new-flow',
      data: { verdict: 'fail', action: 'rollback' },
    });

    // Detected after the regression began, and well within the profile's time limit.
    const detectMs = timeToDecideMs(result)!;
    expect(detectMs).toBeGreaterThan(0);
    expect(detectMs).toBeLessThan(30_000);
    expect(result.exposedRequests).toBeGreaterThan(0);
    expect(result.verdict!.samples.canary).toBeGreaterThanOrEqual(FAST_PROFILE.minSamplesPerArm);

    expect(out.text).toContain('verdict FAIL -> rollback');
    // The verdict is told before its effect, though the webhook usually reaches the flag service before
    // the demo's next read of the API.
    const verdictAt = out.text.indexOf('>> judge: verdict FAIL -> rollback');
    expect(verdictAt).toBeGreaterThanOrEqual(0);
    expect(out.text.indexOf('ROLLED BACK new-checkout-flow -> 0%')).toBeGreaterThan(verdictAt);
    expect(out.text).toMatch(/time to detect: +\d+(\.\d)? m?s after the new flow started to regress/);
    expect(out.text).toMatch(/exposed: +\d+ requests served by the degraded new flow/);
    expect(out.text).toContain(`curl ${result.urls.analysis}`);
    expect(out.text).toContain(`curl ${result.urls.metrics}`);
    expect(out.text).toContain(
      'canary_judge_analysis_verdict{analysis="checkout-new-flow",verdict="fail"} 1',
    );
  }, 90_000);

  it('leaves nothing running: the sidecar API is closed', async () => {
    await expect(fetch(result.urls.analysis)).rejects.toThrow();
  });
});
