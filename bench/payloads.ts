// Realistic OTLP payloads for benchmarks and tests, encoded with protobufjs from the schema in proto/
// (an encoder independent of our field-selective decoders). Paths resolve from the package root, found
// by walking up from this file, so the same code works from bench/ (tsx) and dist/bench/ (tsc output).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The directory holding canary-judge's package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'canary-judge'
    ) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('canary-judge package root not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

const ENTRY_PROTOS = [
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
];

let schema: protobuf.Root | undefined;

/** protobufjs Root of proto/ (OTLP + google.rpc subsets), loaded once. */
export function loadOtlpSchema(): protobuf.Root {
  if (schema !== undefined) return schema;
  const protoDir = join(packageRoot(), 'proto');
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protoDir, target);
  root.loadSync(ENTRY_PROTOS, { keepCase: false });
  root.resolveAll();
  schema = root;
  return root;
}

export const TRACE_REQUEST = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';
export const METRICS_REQUEST = 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest';
export const LOGS_REQUEST = 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest';

/** Encodes a protobufjs-style plain object (camelCase keys, bytes as Uint8Array, 64-bit as string) as `typeName`. */
export function encodeMessage(typeName: string, message: object): Uint8Array {
  const type = loadOtlpSchema().lookupType(typeName);
  return type.encode(type.fromObject(message)).finish();
}

/** A small deterministic PRNG (mulberry32), so payloads are identical run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  bytes[0] |= 1; // never all zero
  return bytes;
}

type KeyValue = { key: string; value: Record<string, unknown> };

function str(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}
function int(key: string, value: number): KeyValue {
  return { key, value: { intValue: value } };
}

export interface TraceBatchOptions {
  spans?: number;
  /** Roughly this many attributes per span. */
  attributesPerSpan?: number;
  /** Every fourth span gets this many events. */
  eventsPerSpan?: number;
  seed?: number;
}

const ROUTES = ['/cart', '/checkout', '/product/{id}', '/search', '/user/{id}/orders'];
const METHODS = ['GET', 'POST', 'PUT'];

/**
 * An ExportTraceServiceRequest as an SDK's BatchSpanProcessor would send it: one resource (a canary
 * pod), one scope per instrumentation library, `spans` spans in traces of 8, ~10 attributes each
 * (HTTP server/client semantic conventions), and a few events (flag evaluations, exceptions).
 */
export function realisticTraceRequest(options: TraceBatchOptions = {}): object {
  const spanCount = options.spans ?? 512;
  const attributesPerSpan = options.attributesPerSpan ?? 10;
  const eventsPerSpan = options.eventsPerSpan ?? 2;
  const random = seededRandom(options.seed ?? 42);
  const baseNanos = 1_700_000_000_000_000_000n;
  const scopes: { scope: object; spans: object[] }[] = [
    { scope: { name: '@opentelemetry/instrumentation-http', version: '0.57.0' }, spans: [] },
    { scope: { name: '@opentelemetry/instrumentation-pg', version: '0.50.0' }, spans: [] },
  ];
  let traceId = randomBytes(random, 16);
  let rootId = randomBytes(random, 8);
  for (let i = 0; i < spanCount; i++) {
    if (i % 8 === 0) {
      traceId = randomBytes(random, 16);
      rootId = randomBytes(random, 8);
    }
    const isRoot = i % 8 === 0;
    const route = ROUTES[Math.floor(random() * ROUTES.length)];
    const method = METHODS[Math.floor(random() * METHODS.length)];
    const start = baseNanos + BigInt(i) * 1_000_000n + BigInt(Math.floor(random() * 1000));
    const durationNanos = BigInt(Math.floor(50_000 + random() * 200_000_000));
    const attributes: KeyValue[] = [
      str('http.request.method', method),
      str('http.route', route),
      str('url.full', `https://shop.example.com${route.replace('{id}', String(Math.floor(random() * 1e6)))}`),
      int('http.response.status_code', random() < 0.02 ? 500 : 200),
      str('server.address', 'shop.example.com'),
      int('server.port', 443),
      str('network.protocol.version', '1.1'),
      str('user_agent.original', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0'),
      str('client.address', `10.0.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}`),
      { key: 'http.server.request.body.size', value: { doubleValue: Math.floor(random() * 4096) } },
    ];
    for (let a = attributes.length; a < attributesPerSpan; a++)
      attributes.push(str(`app.attr_${a}`, `value-${a}`));
    attributes.length = Math.min(attributes.length, attributesPerSpan);
    const events =
      i % 4 === 0
        ? Array.from({ length: eventsPerSpan }, (_, e) => ({
            timeUnixNano: String(start + BigInt(e + 1) * 1000n),
            name: e === 0 ? 'feature_flag.evaluation' : 'exception',
            attributes:
              e === 0
                ? [
                    str('feature_flag.key', 'new-checkout'),
                    str('feature_flag.result.variant', random() < 0.5 ? 'on' : 'off'),
                  ]
                : [str('exception.type', 'TimeoutError'), str('exception.message', 'upstream timed out')],
          }))
        : [];
    const span = {
      traceId,
      spanId: isRoot ? rootId : randomBytes(random, 8),
      parentSpanId: isRoot ? undefined : rootId,
      flags: 0x101,
      name: `${method} ${route}`,
      kind: isRoot ? 2 : 3,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + durationNanos),
      attributes,
      events,
      status: { code: random() < 0.02 ? 2 : 0 },
    };
    scopes[isRoot ? 0 : 1].spans.push(span);
  }
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            str('service.name', 'checkout'),
            str('service.version', '2.1.0'),
            str('service.instance.id', '627cc493-f310-47de-96bd-71410b7dec09'),
            str('deployment.environment.name', 'production'),
            str('k8s.pod.name', 'checkout-canary-7d9f8b6c5-x2x4z'),
            str('telemetry.sdk.language', 'nodejs'),
          ],
        },
        scopeSpans: scopes,
      },
    ],
  };
}

/**
 * The i-th analysis of the ingest benchmarks (bench/ingest.ts, bench/one-analysis.ts): analysis-0 matches the
 * payload above (service `checkout`, client spans, flag `new-checkout`, joined by trace), the others name
 * services and flags the payload lacks.
 */
export function ingestBenchAnalysis(i: number) {
  return {
    id: `analysis-${i}`,
    match: { service: i === 0 ? 'checkout' : `service-${i}`, spanKind: 'client' as const },
    variant: { flag: i === 0 ? 'new-checkout' : `flag-${i}` },
    baseline: 'off',
    canary: 'on',
  };
}

/** A realistic ExportTraceServiceRequest as protobuf bytes (512 spans unless told otherwise). */
export function buildTraceRequestPayload(options: TraceBatchOptions = {}): Uint8Array {
  return encodeMessage(TRACE_REQUEST, realisticTraceRequest(options));
}

/** The ingest benchmark's payload: `spans` realistic spans as one protobuf ExportTraceServiceRequest. */
export function realisticTracePayload(spans = 512): Uint8Array {
  return buildTraceRequestPayload({ spans });
}
