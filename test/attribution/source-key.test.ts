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

  it('gives each resource the key of its content whatever resource came before it (2 000 random exports)', () => {
    // Resources that differ from SDK in one way each: a value, a value's type, a name, one more or one fewer
    // attribute, the order only (the same key), a structured value (equal, then changed).
    const fewer: Attributes = { ...SDK };
    delete fewer['host.arch'];
    const contents: Attributes[] = [
      SDK,
      { ...SDK, 'process.pid': 4243 },
      { ...SDK, 'process.pid': '4242' },
      { ...fewer, 'host.arch2': 'amd64' },
      { ...SDK, 'k8s.pod.name': 'checkout-1' },
      fewer,
      Object.fromEntries(Object.entries(SDK).reverse()),
      { ...SDK, 'process.command_args': ['node', 'server.js'] },
      { ...SDK, 'process.command_args': ['node', 'worker.js'] },
      { ...SDK, 'process.pid': null },
      { ...SDK, 'process.pid': true },
      {},
    ];
    // Each content's key when the resource before it had a structured value, which nothing is compared with.
    const expected = contents.map((attributes) => {
      sourceKeyOf(resourceOf({ 'process.command_args': [`first-${Object.keys(attributes).length}`] }));
      return sourceKeyOf(resourceOf(attributes));
    });
    expect(expected[6]).toBe(expected[0]);
    expect(new Set(expected).size).toBe(contents.length - 1);
    let state = 7;
    const next = (): number => (state = (Math.imul(state, 48271) >>> 0) % 2147483647);
    let last: { resource: ResourceInfo; index: number } | undefined;
    for (let i = 0; i < 2_000; i++) {
      // Now and then the same ResourceInfo again, as the spans of one resource in a request give it.
      const index = last !== undefined && next() % 4 === 0 ? last.index : next() % contents.length;
      const resource =
        last !== undefined && index === last.index
          ? last.resource
          : resourceOf(structuredClone(contents[index]));
      expect(sourceKeyOf(resource), `export ${i}`).toBe(expected[index]);
      last = { resource, index };
    }
    // A structured value is never taken as unchanged, even one changed in place in the same array.
    const args = ['node', 'server.js'];
    const before = sourceKeyOf(resourceOf({ ...SDK, 'process.command_args': args }));
    args[1] = 'worker.js';
    expect(sourceKeyOf(resourceOf({ ...SDK, 'process.command_args': args }))).not.toBe(before);
    expect(sourceKeyOf(resourceOf({ ...SDK, 'process.command_args': args }))).toBe(expected[8]);
  });
});
