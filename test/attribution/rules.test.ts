import { describe, expect, it } from 'vitest';
import { compileSpanNameGlob } from '../../src/attribution/span-name-glob.js';
import { flagEvaluationsOfSpan, variantText } from '../../src/attribution/flag-evaluations.js';
import { SpanKind } from '../../src/otlp/model.js';
import { flagEvent, span } from './fixtures.js';

describe('span name globs', () => {
  it('matches * and ? and treats everything else literally', () => {
    expect(compileSpanNameGlob('POST /checkout*')('POST /checkout/confirm')).toBe(true);
    expect(compileSpanNameGlob('GET /items/?')('GET /items/7')).toBe(true);
    expect(compileSpanNameGlob('GET /a.b')('GET /aXb')).toBe(false);
    expect(compileSpanNameGlob('GET (x)+')('GET (x)+')).toBe(true);
  });
});

describe('flag evaluation records on spans', () => {
  it('reads every evaluation a span carries, with its form and the record it came from', () => {
    const carrier = span({
      name: 'feature_flag.evaluation',
      kind: SpanKind.INTERNAL,
      attributes: { 'feature_flag.key': 'a', 'feature_flag.result.variant': 'x' },
      events: [
        flagEvent('b', 'y'),
        flagEvent('c', 'z', 'feature_flag', 'feature_flag.variant'),
        { name: 'exception', timeUnixMs: 0, attributes: {} },
      ],
    });
    const found = flagEvaluationsOfSpan(carrier);
    expect(found).toEqual([
      { flagKey: 'a', variant: 'x', source: 'child_span', record: carrier },
      { flagKey: 'b', variant: 'y', source: 'span_event', record: carrier.events[0] },
      { flagKey: 'c', variant: 'z', source: 'legacy_span_event', record: carrier.events[1] },
    ]);
    expect(found[1].record).toBe(carrier.events[0]);
  });

  it('prefers feature_flag.result.variant over the older names and the value', () => {
    const event = {
      name: 'feature_flag.evaluation',
      timeUnixMs: 0,
      attributes: {
        'feature_flag.key': 'a',
        'feature_flag.result.value': 'v',
        'feature_flag.variant': 'old',
        'feature_flag.result.variant': 'new',
      },
    };
    expect(flagEvaluationsOfSpan(span({ events: [event] }))[0].variant).toBe('new');
  });

  it('skips records without a key or a variant', () => {
    expect(
      flagEvaluationsOfSpan(
        span({
          events: [
            { name: 'feature_flag.evaluation', timeUnixMs: 0, attributes: { 'feature_flag.key': 'a' } },
          ],
        }),
      ),
    ).toEqual([]);
  });

  it('renders variants as text', () => {
    expect([
      variantText(true),
      variantText(3),
      variantText('on'),
      variantText(''),
      variantText(null),
      variantText({ a: 1 }),
    ]).toEqual(['true', '3', 'on', undefined, undefined, '{"a":1}']);
  });
});
