// Request-body buffers the OTLP/HTTP receiver reuses (http-receiver.ts), so that a body in several chunks is
// assembled in memory that is already mapped and warm in the caches instead of a fresh allocation per request.
//
// Why: a 512-span export is ~270 KB. Each one got a new buffer (Buffer.allocUnsafe of the declared length, or
// Buffer.concat of the chunks), which glibc serves from memory it unmapped or trimmed after the previous
// scavenge, so every request paid a page fault per 4 KiB page plus the kernel's zeroing before its copy: in a
// perf profile at 5k spans/s the body copy was ~13% of the sidecar's CPU, mostly those faults (issue 13).
//
// Safety: a buffer is given back only once its request is finished (decoded and handed on in every slice,
// answered or refused), and only where nothing keeps a reference into it. The protobuf trace decoder leaves
// span and event attributes in the request bytes until read (decode/lazy-attributes.ts), so a sink that kept a
// decoded span past its synchronous call would read another request's bytes once the buffer is reused. The
// sidecar's own sink (attribution) keeps derived values only (strings, numbers, SpanObservations), never a
// span (model.ts DecodedSpan); every other decoded value is a copy (strings, hex ids, numbers; readKey copies
// its memo's bytes). So the sidecar hands the receiver a pool only when that sink is its own
// (src/sidecar.ts), never when a caller replaces it (test/otlp/body-buffers.test.ts checks both).
//
// Bounds: idle buffers together hold at most `maxBytes` (otlp.http.keptBodyBufferBytes); a buffer given back
// past that, or larger than it, is dropped for the garbage collector and counted. Buffers in use are charged to
// the ingest budget by their request exactly as before (admission.ts), so the budget's limits do not change;
// what the pool adds is at most `maxBytes` of idle memory.
import { Counter, type Registry } from 'prom-client';

/** Capacities are rounded up to an eighth of the next power of two, so bodies of similar sizes share buffers. */
function capacityFor(size: number): number {
  const granule = Math.max(4096, 2 ** Math.ceil(Math.log2(Math.max(1, size))) / 8);
  return Math.ceil(size / granule) * granule;
}

export type BodyBufferOutcome = 'allocated' | 'reused' | 'discarded';

export class BodyBuffers {
  /** Idle buffers, any order. */
  readonly #idle: Buffer[] = [];
  #idleBytes = 0;

  /**
   * `maxBytes`: idle bytes kept at most. `count` hears every buffer allocated, reused or discarded (a metric in
   * the sidecar).
   */
  constructor(
    readonly maxBytes: number,
    private readonly count: (outcome: BodyBufferOutcome) => void = () => undefined,
  ) {}

  /** Bytes held by idle buffers now. */
  get idleBytes(): number {
    return this.#idleBytes;
  }

  /** Idle buffers now. */
  get idleBuffers(): number {
    return this.#idle.length;
  }

  /**
   * A buffer of at least `size` bytes, its contents unspecified, owned by the caller until `give`: the smallest
   * idle one large enough, else a new one.
   */
  take(size: number): Buffer {
    const idle = this.#idle;
    let best = -1;
    for (let i = 0; i < idle.length; i++) {
      const length = idle[i].length;
      if (length >= size && (best < 0 || length < idle[best].length)) best = i;
    }
    if (best < 0) {
      this.count('allocated');
      // Not Buffer.allocUnsafe: below 4 KiB it slices Node's shared pool, which must not be handed on.
      return Buffer.allocUnsafeSlow(capacityFor(size));
    }
    const buffer = idle[best];
    idle[best] = idle[idle.length - 1];
    idle.pop();
    this.#idleBytes -= buffer.length;
    this.count('reused');
    return buffer;
  }

  /**
   * Gives back a buffer from `take` whose request is finished: nothing may read or keep a view of it any more.
   * Smaller idle buffers make room for a larger one (a larger buffer serves every smaller body).
   */
  give(buffer: Buffer): void {
    const idle = this.#idle;
    if (buffer.length > this.maxBytes) return this.count('discarded');
    while (this.#idleBytes + buffer.length > this.maxBytes) {
      let smallest = -1;
      for (let i = 0; i < idle.length; i++)
        if (smallest < 0 || idle[i].length < idle[smallest].length) smallest = i;
      if (smallest < 0 || idle[smallest].length >= buffer.length) return this.count('discarded');
      this.#idleBytes -= idle[smallest].length;
      idle[smallest] = idle[idle.length - 1];
      idle.pop();
      this.count('discarded');
    }
    idle.push(buffer);
    this.#idleBytes += buffer.length;
  }
}

/** The pool's counter, `canary_judge_otlp_body_buffers_total{outcome}`, as a BodyBuffers `count` callback. */
export function bodyBufferCounter(registry: Registry): (outcome: BodyBufferOutcome) => void {
  const counter = new Counter({
    name: 'canary_judge_otlp_body_buffers_total',
    help: 'OTLP/HTTP request-body buffers: allocated, reused from the idle ones, or discarded (past otlp.http.keptBodyBufferBytes)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  // Bound once: the counter is touched on every request of several chunks.
  const outcomes = {
    allocated: counter.labels({ outcome: 'allocated' }),
    reused: counter.labels({ outcome: 'reused' }),
    discarded: counter.labels({ outcome: 'discarded' }),
  };
  return (outcome) => outcomes[outcome].inc();
}
