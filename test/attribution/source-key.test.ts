import { describe, expect, it } from 'vitest';
import { sourceKeyOf } from '../../src/attribution/source-key.js';
import type { Attributes, ResourceInfo } from '../../src/otlp/model.js';

/** A new ResourceInfo object each time, as the decoders make one per resource per export request. */
function resourceOf(attributes: Attributes): ResourceInfo {
  const serviceName = attributes['service.name'];
  return { serviceName: typeof serviceName === 'string' ? serviceName : '', attributes: { ...attributes } };
}

const SDK = {
  'service.name': 'checkout',
  'service.version': '2.1.0',
  'telemetry.sdk.language': 'nodejs',
  'telemetry.sdk.name': 'opentelemetry',
  'telemetry.sdk.version': '2.2.0',
  'process.pid': 4242,
  'host.arch': 'amd64',
};

describe('sourceKeyOf', () => {
  it('gives every export of one resource the key of its first export, and other resources other keys', () => {
    const first = sourceKeyOf(resourceOf(SDK));
    // Again right away, and again after other resources came between.
    expect(sourceKeyOf(resourceOf(SDK))).toBe(first);
    const other = sourceKeyOf(resourceOf({ ...SDK, 'process.pid': 4243 }));
    const renamed = sourceKeyOf(resourceOf({ ...SDK, 'service.name': 'cart' }));
    const fewer = sourceKeyOf(resourceOf({ 'service.name': 'checkout', 'service.version': '2.1.0' }));
    expect(sourceKeyOf(resourceOf(SDK))).toBe(first);
    expect(new Set([first, other, renamed, fewer]).size).toBe(4);
    // Each of them keeps its own key when it comes again.
    expect(sourceKeyOf(resourceOf({ ...SDK, 'process.pid': 4243 }))).toBe(other);
    expect(sourceKeyOf(resourceOf({ 'service.name': 'checkout', 'service.version': '2.1.0' }))).toBe(fewer);
  });

  it('tells values of other types apart (a number from its text, true from "true")', () => {
    const number = sourceKeyOf(resourceOf({ ...SDK, 'process.pid': 4242 }));
    const text = sourceKeyOf(resourceOf({ ...SDK, 'process.pid': '4242' }));
    const flag = sourceKeyOf(resourceOf({ ...SDK, 'k8s.canary': true }));
    const flagText = sourceKeyOf(resourceOf({ ...SDK, 'k8s.canary': 'true' }));
    expect(number).not.toBe(text);
    expect(flag).not.toBe(flagText);
    expect(sourceKeyOf(resourceOf({ ...SDK, 'process.pid': 4242 }))).toBe(number);
  });

  it('does not depend on the order of the attributes', () => {
    const reversed = Object.fromEntries(Object.entries(SDK).reverse());
    expect(sourceKeyOf(resourceOf(reversed))).toBe(sourceKeyOf(resourceOf(SDK)));
  });

  it('keys structured values by their content', () => {
    const withList = { ...SDK, 'process.command_args': ['node', 'server.js'] };
    const key = sourceKeyOf(resourceOf(withList));
    expect(sourceKeyOf(resourceOf({ ...withList, 'process.command_args': ['node', 'server.js'] }))).toBe(key);
    expect(sourceKeyOf(resourceOf({ ...withList, 'process.command_args': ['node', 'worker.js'] }))).not.toBe(
      key,
    );
  });
});
