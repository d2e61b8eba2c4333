// Counters counted in plain slots and handed to prom-client when collected (src/publish/count-slots.ts): a
// scrape or a get() reads every count made before it, label sets never share a slot, and a slot made with
// nothing counted shows a zero series, as prom-client's inc(labels, 0) does.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SlottedCounter } from '../../src/publish/count-slots.js';

function counter(registry: Registry): SlottedCounter<'transport' | 'signal'> {
  return new SlottedCounter({
    name: 'test_items_total',
    help: 'items',
    labelNames: ['transport', 'signal'],
    registers: [registry],
  });
}

async function values(registry: Registry): Promise<Array<[string, number]>> {
  const { values } = await registry.getSingleMetric('test_items_total')!.get();
  return values.map((v) => [`${v.labels.transport}/${v.labels.signal}`, v.value]);
}

describe('SlottedCounter', () => {
  it('hands every count to the counter when it is collected, and keeps adding across collections', async () => {
    const registry = new Registry();
    const items = counter(registry);
    const http = items.slot({ transport: 'http', signal: 'traces' });
    http.n += 512;
    http.n += 3;
    items.inc({ transport: 'grpc', signal: 'traces' }, 7);
    items.inc({ signal: 'traces', transport: 'grpc' });
    expect(await values(registry)).toEqual([
      ['http/traces', 515],
      ['grpc/traces', 8],
    ]);
    http.n += 5;
    expect(await registry.metrics()).toContain('test_items_total{transport="http",signal="traces"} 520');
    expect(await values(registry)).toEqual([
      ['http/traces', 520],
      ['grpc/traces', 8],
    ]);
  });

  it('gives one label set one slot, whatever the order its labels are written in', async () => {
    const registry = new Registry();
    const items = counter(registry);
    expect(items.slot({ transport: 'http', signal: 'traces' })).toBe(
      items.slot({ signal: 'traces', transport: 'http' }),
    );
    items.inc({ transport: 'ab', signal: 'c' });
    items.inc({ transport: 'a', signal: 'bc' }, 2);
    expect(await values(registry)).toEqual([
      ['http/traces', 0],
      ['ab/c', 1],
      ['a/bc', 2],
    ]);
  });

  it('shows a zero series for a slot made with nothing counted, and none for a label set never used', async () => {
    const registry = new Registry();
    const items = counter(registry);
    expect(await values(registry)).toEqual([]);
    items.slot({ transport: 'http', signal: 'logs' });
    expect(await values(registry)).toEqual([['http/logs', 0]]);
  });
});
