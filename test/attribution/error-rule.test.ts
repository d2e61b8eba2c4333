import { describe, expect, it } from 'vitest';
import { compileErrorRule } from '../../src/attribution/error-rule.js';
import { errorRuleSchema } from '../../src/config/analysis.js';
import { SpanKind, StatusCode } from '../../src/otlp/model.js';
import { span } from './fixtures.js';

const defaults = compileErrorRule(errorRuleSchema.parse({}));

describe('error rule', () => {
  it('counts span status ERROR', () => {
    expect(defaults.isErrorSpan(span({ statusCode: StatusCode.ERROR }))).toBe(true);
    expect(defaults.isErrorSpan(span({ statusCode: StatusCode.OK }))).toBe(false);
  });

  it('counts 5xx on server spans under both the stable and the older attribute name', () => {
    expect(defaults.isErrorSpan(span({ attributes: { 'http.response.status_code': 502 } }))).toBe(true);
    expect(defaults.isErrorSpan(span({ attributes: { 'http.status_code': '500' } }))).toBe(true);
    expect(defaults.isErrorSpan(span({ attributes: { 'http.response.status_code': 404 } }))).toBe(false);
  });

  it('does not count 5xx on client spans (the server is judged, not its caller)', () => {
    expect(
      defaults.isErrorSpan(span({ kind: SpanKind.CLIENT, attributes: { 'http.response.status_code': 503 } })),
    ).toBe(false);
  });

  it('counts the configured rpc.grpc.status_code values', () => {
    expect(defaults.isErrorSpan(span({ attributes: { 'rpc.grpc.status_code': 14 } }))).toBe(true);
    expect(defaults.isErrorSpan(span({ attributes: { 'rpc.grpc.status_code': 5 } }))).toBe(false);
    const notFound = compileErrorRule(errorRuleSchema.parse({ grpcStatusCodes: [5] }));
    expect(notFound.isErrorSpan(span({ attributes: { 'rpc.grpc.status_code': 5 } }))).toBe(true);
  });

  it('can be switched off rule by rule', () => {
    const none = compileErrorRule(
      errorRuleSchema.parse({ statusError: false, httpServer5xx: false, grpcStatusCodes: [] }),
    );
    expect(
      none.isErrorSpan(
        span({
          statusCode: StatusCode.ERROR,
          attributes: { 'http.response.status_code': 500, 'rpc.grpc.status_code': 13 },
        }),
      ),
    ).toBe(false);
  });

  it('counts error.type only when asked to', () => {
    expect(defaults.isErrorSpan(span({ attributes: { 'error.type': 'timeout' } }))).toBe(false);
    const withType = compileErrorRule(errorRuleSchema.parse({ errorType: true }));
    expect(withType.isErrorSpan(span({ attributes: { 'error.type': 'timeout' } }))).toBe(true);
  });

  it('applies the attribute rules to metric points', () => {
    expect(defaults.isErrorPoint({ 'http.response.status_code': 500 })).toBe(true);
    expect(defaults.isErrorPoint({ 'http.response.status_code': 200 })).toBe(false);
  });
});
