// The transport-independent half of an export (src/otlp/export-handler.ts, signals.ts, slices.ts): a batch
// handed on in one slice is answered within the call, with no promise; a batch of several slices answers
// through a promise; a malformed payload or a failing sink is refused with the same IngestError either way,
// and the request's counts reach the registry when it is scraped.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildTraceRequestPayload } from '../../bench/payloads.js';
import { IngestError } from '../../src/otlp/errors.js';
import { ExportHandler } from '../../src/otlp/export-handler.js';
import type { SpanBatch } from '../../src/otlp/model.js';
import { createSignalProcessors } from '../../src/otlp/signals.js';
import { createIngestMetrics } from '../../src/publish/metrics.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { RecordingSink } from '../support/sidecar.js';

/** A sink whose `failAt`-th span batch (counting from 1) throws, as a pipeline bug would. */
class FailingSink extends RecordingSink {
  private batches = 0;
  constructor(private readonly failAt: number) {
    super();
  }
  override acceptSpans(batch: SpanBatch): void {
    this.batches += 1;
    if (this.batches === this.failAt) throw new Error('a pipeline bug');
    super.acceptSpans(batch);
  }
}

function setUp(sink: RecordingSink = new RecordingSink()) {
  const registry = new Registry();
  const handler = new ExportHandler(
    createIngestMetrics(registry, () => 0),
    createLogger('silent'),
  );
  return { registry, handler, sink, traces: createSignalProcessors(sink).traces };
}

async function counted(registry: Registry, name: string): Promise<number> {
  const { values } = await registry.getSingleMetric(name)!.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

describe('ExportHandler.handle', () => {
  it('answers a batch of one slice within the call, and counts it when scraped', async () => {
    const { registry, handler, sink, traces } = setUp();
    // 256 of these spans (~540 bytes each) are one slice of ~256 KB (slices.ts).
    const answer = handler.handle(traces, buildTraceRequestPayload({ spans: 256 }), 'protobuf', 'http');
    expect(answer).toBeInstanceOf(Uint8Array);
    expect((answer as Uint8Array).byteLength).toBe(0); // a full success in protobuf
    expect(sink.spanBatches).toHaveLength(1);
    expect(sink.spans).toHaveLength(256);
    expect(await counted(registry, 'canary_judge_otlp_items_received_total')).toBe(256);
    expect(await counted(registry, 'canary_judge_otlp_requests_total')).toBe(1);
  });

  it('answers a batch of several slices through a promise, with the same response', async () => {
    const { registry, handler, sink, traces } = setUp();
    const answer = handler.handle(traces, buildTraceRequestPayload({ spans: 20_000 }), 'protobuf', 'grpc');
    expect(answer).toBeInstanceOf(Promise);
    expect((await answer).byteLength).toBe(0);
    expect(sink.spans).toHaveLength(20_000);
    expect(sink.spanBatches.length).toBeGreaterThan(1);
    expect(await counted(registry, 'canary_judge_otlp_items_received_total')).toBe(20_000);
  });

  it('refuses a malformed payload with OTLP_BAD_PAYLOAD at once, counting no request', async () => {
    const { registry, handler, traces } = setUp();
    const call = () => handler.handle(traces, Uint8Array.of(0x0a, 0xff), 'protobuf', 'http');
    expect(call).toThrow(IngestError);
    expect(call).toThrow(expect.objectContaining({ code: 'OTLP_BAD_PAYLOAD' }));
    expect(await counted(registry, 'canary_judge_otlp_requests_total')).toBe(0);
  });

  it('refuses with OTLP_INTERNAL when the sink fails, in the first slice (thrown) or a later one (rejected)', async () => {
    const first = setUp(new FailingSink(1));
    expect(() =>
      first.handler.handle(first.traces, buildTraceRequestPayload({ spans: 64 }), 'protobuf', 'http'),
    ).toThrow(expect.objectContaining({ code: 'OTLP_INTERNAL' }));
    const later = setUp(new FailingSink(2));
    const answer = later.handler.handle(
      later.traces,
      buildTraceRequestPayload({ spans: 20_000 }),
      'protobuf',
      'http',
    );
    await expect(answer).rejects.toMatchObject({ code: 'OTLP_INTERNAL' });
    expect(await counted(later.registry, 'canary_judge_otlp_requests_total')).toBe(0);
  });
});
