// The verdict event is a CloudEvents 1.0 structured-mode JSON document with the required attributes.
import { describe, expect, it } from 'vitest';
import {
  buildVerdictEvent,
  defaultEventSource,
  VERDICT_CHANGED_TYPE,
} from '../../src/publish/cloudevents.js';

describe('buildVerdictEvent', () => {
  it('sets every CloudEvents 1.0 attribute and carries the verdict document as data', () => {
    const data = { verdict: 'fail', action: 'rollback', metrics: [{ name: 'latency', reason: 'p95 +40%' }] };
    const event = buildVerdictEvent({
      analysisId: 'checkout/v2',
      data,
      source: '/canary-judge/pod-1',
      time: new Date('2026-11-25T10:00:00.123Z'),
      id: '6f1c5f1e-0000-4000-8000-000000000001',
    });
    expect(event).toEqual({
      specversion: '1.0',
      type: 'dev.canary-judge.verdict.changed',
      source: '/canary-judge/pod-1',
      id: '6f1c5f1e-0000-4000-8000-000000000001',
      time: '2026-11-25T10:00:00.123Z',
      subject: 'checkout/v2',
      datacontenttype: 'application/json',
      data,
    });
    expect(VERDICT_CHANGED_TYPE).toBe(event.type);
    // RFC 3339 (the profile of ISO 8601 with a mandatory offset)
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
  });

  it('refuses an invalid time rather than sending "Invalid Date"', () => {
    expect(() =>
      buildVerdictEvent({ analysisId: 'a', data: {}, source: '/s', time: new Date(Number.NaN), id: 'x' }),
    ).toThrow(RangeError);
  });

  it('names the source after the instance as a URI-reference', () => {
    expect(defaultEventSource('pod 1/a')).toBe('/canary-judge/pod%201%2Fa');
    expect(defaultEventSource()).toMatch(/^\/canary-judge\/[^/ ]+$/);
  });
});
