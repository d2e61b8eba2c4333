// OTLP/HTTP receiver (spec: "OTLP/HTTP"): POST /v1/traces, /v1/metrics, /v1/logs with
// application/x-protobuf or application/json bodies, optionally gzip- or deflate-compressed.
// The response uses the request's encoding; errors carry a google.rpc.Status body.
//
// Memory (admission.ts): nothing is read before the route, method, token and content type are checked.
// The request is admitted when its first body bytes arrive; every chunk is charged to the ingest budget
// before it is kept, compressed bodies are inflated as they arrive with every inflated block charged too,
// and the decoded batch is charged while it is handed on. Past the budget the answer is 503 + Retry-After
// and the rest of the body is read and dropped, so the sender sees the answer rather than a reset. The
// receive guard cuts senders slower than otlp.minReceiveBytesPerSecond, or stalled when another request needs
// their share, with 503 + Retry-After and the connection closed: the OTel exporters retry a 503 (and the
// reset they may see instead if still writing), never a 408.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import type { Logger } from 'pino';
import type { OtlpConfig } from '../config/schema.js';
import type { Signal } from '../publish/metrics.js';
import { DECODED_BYTES_PER_PAYLOAD_BYTE, type Admission, type IngestLease } from './admission.js';
import type { BearerCheck } from './auth.js';
import { IngestError } from './errors.js';
import { httpDate } from './http-date.js';
import type { ExportHandler, PayloadEncoding, SignalProcessor } from './export-handler.js';
import type { ReceiveGuard, ReceiveWatch } from './receive-guard.js';

/** Charge per payload byte: the payload and the decoded batch it becomes (admission.ts). */
const PAYLOAD_CHARGE = 1 + DECODED_BYTES_PER_PAYLOAD_BYTE;
/** What is read of a refused body before the connection is closed (see HttpReceiver.drain). */
const DRAIN_MAX_BYTES = 64 * 1024;
const DRAIN_MAX_MS = 1000;

export type StatusEncoder = (error: IngestError, encoding: PayloadEncoding) => Uint8Array;

export interface HttpReceiverOptions {
  config: OtlpConfig;
  processors: Record<Signal, SignalProcessor>;
  handler: ExportHandler;
  admission: Admission;
  guard: ReceiveGuard;
  authorize: BearerCheck;
  encodeStatus: StatusEncoder;
  logger: Logger;
}

const PATHS: Record<string, Signal> = {
  '/v1/traces': 'traces',
  '/v1/metrics': 'metrics',
  '/v1/logs': 'logs',
};
const CONTENT_TYPES: Record<PayloadEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

function encodingOf(contentType: string | undefined): PayloadEncoding | undefined {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (mediaType === 'application/x-protobuf' || mediaType === 'application/protobuf') return 'protobuf';
  if (mediaType === 'application/json') return 'json';
  return undefined;
}

type Coding = 'identity' | 'gzip' | 'deflate';

function codingOf(contentEncoding: string | undefined): Coding | undefined {
  const coding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (coding === 'identity' || coding === '') return 'identity';
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip';
  if (coding === 'deflate') return 'deflate';
  return undefined;
}

/** Chunks of one payload, concatenated once at the end (or kept as is when there is one). */
function joined(chunks: Buffer[], size: number): Buffer {
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

/**
 * Reads one request body within the limits and the budget: resolves with the (decompressed) payload, or
 * rejects with the IngestError to answer. Admission happens at the first body byte (or at the end of an
 * empty body); the lease is handed to `onLease` as soon as it exists so the caller always releases it.
 */
function receiveBody(
  request: IncomingMessage,
  options: {
    coding: Coding;
    maxBodyBytes: number;
    maxPayloadBytes: number;
    /** The setting that gives maxPayloadBytes, named in a refusal. */
    maxPayloadSetting: string;
    /** Content-Length, when the sender declared one. */
    declaredBytes: number | undefined;
    admission: Admission;
    watch: ReceiveWatch;
    onLease: (lease: IngestLease) => void;
  },
): Promise<{ payload: Buffer; wireBytes: number }> {
  const { coding, maxBodyBytes, maxPayloadBytes, maxPayloadSetting, declaredBytes, admission, watch } =
    options;
  return new Promise((resolve, reject) => {
    let lease: IngestLease | undefined;
    let settled = false;
    let wireBytes = 0;
    let payloadBytes = 0;
    const payload: Buffer[] = [];
    // An uncompressed body of declared length that comes in several chunks is copied into one buffer of that
    // length as it arrives, while each chunk is still in cache, rather than joined at the end.
    let direct: Buffer | undefined;
    let directAllowed =
      coding === 'identity' && declaredBytes !== undefined && declaredBytes <= maxPayloadBytes;
    let inflater: Gunzip | Inflate | undefined;
    const fail = (error: IngestError): void => {
      if (settled) return;
      settled = true;
      inflater?.destroy();
      reject(error);
    };
    // With a declared length, the whole body (an uncompressed one with its decoded batch) is reserved at
    // its first byte: the request is admitted or refused then, and requests admitted together cannot starve
    // one another half way. Chunks are charged against what is left of that reservation.
    let reserved = 0;
    const admit = (): boolean => {
      if (lease) return true;
      const admitted = admission.admit();
      if (admitted instanceof IngestError) {
        fail(admitted);
        return false;
      }
      lease = admitted;
      options.onLease(admitted);
      if (declaredBytes !== undefined) {
        reserved = coding === 'identity' ? PAYLOAD_CHARGE * declaredBytes : declaredBytes;
        if (!lease.grow(reserved)) {
          fail(admission.overBudget());
          return false;
        }
      }
      return true;
    };
    /** Charges `bytes`, from the reservation while it lasts. */
    const charge = (bytes: number): boolean => {
      const fromReservation = Math.min(reserved, bytes);
      reserved -= fromReservation;
      return fromReservation === bytes || lease!.grow(bytes - fromReservation);
    };
    /** Refuses for good (413) a payload that would pass maxPayloadBytes at `total` bytes; whether it did. */
    const pastPayloadLimit = (total: number): boolean => {
      if (total <= maxPayloadBytes) return false;
      const what = coding === 'identity' ? 'payload' : 'decompressed body';
      fail(
        new IngestError(
          'OTLP_PAYLOAD_TOO_LARGE',
          `${what} exceeds the limit of ${maxPayloadBytes} bytes (${maxPayloadSetting})`,
        ),
      );
      return true;
    };
    const keep = (chunk: Buffer): void => {
      payloadBytes += chunk.length;
      if (pastPayloadLimit(payloadBytes)) return;
      // Payload bytes are charged with the decoded batch they will become, so a request that cannot be
      // handed on is refused while it arrives, not once it is whole.
      if (coding !== 'identity' && !lease!.grow(PAYLOAD_CHARGE * chunk.length))
        return fail(admission.overBudget());
      if (directAllowed) {
        const at = payloadBytes - chunk.length;
        if (direct === undefined && chunk.length < declaredBytes!)
          direct = Buffer.allocUnsafe(declaredBytes!);
        if (direct !== undefined && payloadBytes <= direct.length) {
          chunk.copy(direct, at);
          return;
        }
        // One chunk holds the whole body (kept as is), or more came than declared: chunks from here on.
        directAllowed = false;
        if (direct !== undefined) payload.push(direct.subarray(0, at));
        direct = undefined;
      }
      payload.push(chunk);
    };
    if (coding !== 'identity') {
      inflater = coding === 'gzip' ? createGunzip() : createInflate();
      inflater.on('data', (chunk: Buffer) => {
        if (settled) return;
        // Inflating is progress too: a body paused by the inflater's backpressure is not an idle sender.
        watch.progress(chunk.length);
        keep(chunk);
      });
      inflater.on('error', (error) =>
        fail(new IngestError('OTLP_BAD_PAYLOAD', `body is not valid ${coding}: ${error.message}`)),
      );
      inflater.on('end', () => {
        if (!settled) finish();
      });
      // Backpressure: a slow inflater pauses the socket rather than buffering the body.
      inflater.on('drain', () => request.resume());
    }
    request.on('data', (chunk: Buffer) => {
      if (settled) return;
      watch.progress(chunk.length);
      if (!admit()) return;
      wireBytes += chunk.length;
      if (wireBytes > maxBodyBytes) {
        return fail(
          new IngestError(
            'OTLP_PAYLOAD_TOO_LARGE',
            `body exceeds the limit of ${maxBodyBytes} bytes (otlp.http.maxBodyBytes)`,
          ),
        );
      }
      // An uncompressed chunk past the payload limit is refused (413) before it is charged: charged first (4 x
      // its bytes with their decoded batch), a body without Content-Length could pass the budget before the
      // limit and be refused with a retryable 503 on every attempt.
      if (!inflater && pastPayloadLimit(payloadBytes + chunk.length)) return;
      if (!charge(inflater ? chunk.length : PAYLOAD_CHARGE * chunk.length))
        return fail(admission.overBudget());
      if (inflater) {
        if (!inflater.write(chunk)) request.pause();
      } else keep(chunk);
    });
    /**
     * Joins the blocks into one payload. The copy is charged while both exist; afterwards the request
     * holds the payload and its decoded batch (a compressed body's wire bytes went into the inflater and
     * are garbage).
     */
    const finish = (): void => {
      // The inflater has ended, so the wire bytes are all spent: they are given back before the join's copy is
      // charged, which keeps the peak within the config check's http.maxBodyBytes + 4 x and 5 x
      // maxDecompressedBytes (charged together, a gzip body of 2 MiB inflating to 16 MiB passed the default).
      if (inflater) lease!.shrinkTo(PAYLOAD_CHARGE * payloadBytes);
      if (payload.length > 1 && !lease!.grow(payloadBytes)) return fail(admission.overBudget());
      settled = true;
      const whole = direct !== undefined ? direct.subarray(0, payloadBytes) : joined(payload, payloadBytes);
      lease!.shrinkTo(PAYLOAD_CHARGE * payloadBytes);
      resolve({ payload: whole, wireBytes });
    };
    request.on('end', () => {
      watch.done();
      if (settled || !admit()) return;
      if (inflater) inflater.end();
      else finish();
    });
    request.on('error', () => fail(new IngestError('OTLP_BAD_PAYLOAD', 'the request body was cut short')));
    request.on('close', () => {
      if (!request.complete)
        fail(new IngestError('OTLP_BAD_PAYLOAD', 'the client closed the connection mid-body'));
    });
  });
}

export class HttpReceiver {
  private server: Server | undefined;

  constructor(private readonly options: HttpReceiverOptions) {}

  async start(): Promise<number> {
    const { config } = this.options;
    const listener = (request: IncomingMessage, response: ServerResponse): void => {
      this.serve(request, response).catch((error: unknown) => {
        this.options.logger.error({ err: error }, 'OTLP/HTTP request failed outside the pipeline');
        this.answer(request, response, 'traces', 'protobuf', internalError(error));
      });
    };
    this.server = config.tls
      ? createHttpsServer(
          { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
          listener,
        )
      : createHttpServer(listener);
    // Backstops behind the receive guard: headers within 10 s, the whole request soon after the body timeout.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = config.bodyTimeoutMs + 10_000;
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A deep accept queue: under a burst of connections, senders wait to be accepted (and refused with a
      // 503 at once) rather than having their SYNs dropped and retried for seconds.
      server.listen({ port: config.http.port, host: config.http.host, backlog: 4096 }, () => resolve());
    });
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : config.http.port;
  }

  /**
   * Receiver side of shutdown: once the admission is closing (the sidecar closes it first), new requests
   * are answered 503 + Retry-After with `Connection: close` while the admitted ones finish; then the
   * listener and the idle connections close, so a sender sees an answer rather than a reset.
   */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    await this.options.admission.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
  }

  /** Ends connections still open after the drain deadline. */
  forceClose(): void {
    this.server?.closeAllConnections();
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { processors, handler, admission, authorize, config, guard } = this.options;
    const signal = PATHS[(request.url ?? '').split('?')[0]];
    const declaredEncoding = encodingOf(request.headers['content-type']);
    const encoding = declaredEncoding ?? 'json';
    if (signal === undefined) {
      const path = (request.url ?? '').slice(0, 64);
      return this.answer(request, response, 'traces', encoding, notFound(path));
    }
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      return this.answer(
        request,
        response,
        signal,
        encoding,
        new IngestError('OTLP_METHOD_NOT_ALLOWED', `${request.method} is not allowed; OTLP/HTTP uses POST`),
      );
    }
    const authorization = request.headers.authorization;
    if (!authorize(typeof authorization === 'string' ? authorization : undefined)) {
      response.setHeader('WWW-Authenticate', 'Bearer');
      return this.answer(
        request,
        response,
        signal,
        encoding,
        new IngestError('OTLP_UNAUTHENTICATED', 'missing or wrong bearer token'),
      );
    }
    if (declaredEncoding === undefined) {
      return this.answer(
        request,
        response,
        signal,
        'json',
        new IngestError(
          'OTLP_UNSUPPORTED_MEDIA_TYPE',
          `Content-Type ${String(request.headers['content-type'] ?? '(none)').slice(0, 64)} is not supported; use application/x-protobuf or application/json`,
        ),
      );
    }
    const coding = codingOf(request.headers['content-encoding']);
    if (coding === undefined) {
      return this.answer(
        request,
        response,
        signal,
        encoding,
        new IngestError(
          'OTLP_UNSUPPORTED_ENCODING',
          `Content-Encoding ${String(request.headers['content-encoding']).slice(0, 64)} is not supported; use gzip, deflate or none`,
        ),
      );
    }
    if (admission.isClosing) {
      return this.answer(
        request,
        response,
        signal,
        encoding,
        new IngestError(
          'OTLP_SHUTTING_DOWN',
          'the receiver is shutting down; retry later',
          config.retryAfterSeconds,
        ),
      );
    }
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > config.http.maxBodyBytes) {
      return this.answer(
        request,
        response,
        signal,
        encoding,
        new IngestError(
          'OTLP_PAYLOAD_TOO_LARGE',
          `body of ${declared} bytes exceeds the limit of ${config.http.maxBodyBytes} bytes (otlp.http.maxBodyBytes)`,
        ),
      );
    }
    // The payload limit: maxDecompressedBytes, and for OTLP/JSON http.maxJsonBytes too, whichever is smaller
    // (the config check sizes the budget by maxDecompressedBytes, so a larger maxJsonBytes cannot raise it).
    const jsonBound = encoding === 'json' && config.http.maxJsonBytes < config.maxDecompressedBytes;
    const maxPayloadBytes = jsonBound ? config.http.maxJsonBytes : config.maxDecompressedBytes;
    const maxPayloadSetting = jsonBound ? 'otlp.http.maxJsonBytes' : 'otlp.maxDecompressedBytes';
    // An uncompressed body is its payload: one declared over the payload limit is refused for good (413) before
    // the budget is asked. Asked first, it could need more than the whole budget (4 x its length with its decoded
    // batch, when http.maxBodyBytes is far above maxDecompressedBytes) and be refused with 503 on every retry.
    if (coding === 'identity' && Number.isFinite(declared) && declared > maxPayloadBytes) {
      return this.answer(
        request,
        response,
        signal,
        encoding,
        new IngestError(
          'OTLP_PAYLOAD_TOO_LARGE',
          `payload of ${declared} bytes exceeds the limit of ${maxPayloadBytes} bytes (${maxPayloadSetting})`,
        ),
      );
    }
    // A declared body that could not be taken now (with its decoded batch, when it is not compressed) is
    // refused before any of it is read. Nothing is reserved: admission still happens byte by byte.
    const needs = coding === 'identity' ? PAYLOAD_CHARGE * declared : declared;
    if (Number.isFinite(declared) && needs > admission.bytesFree && !admission.makeRoom(needs)) {
      return this.answer(request, response, signal, encoding, admission.overBudget());
    }

    let lease: IngestLease | undefined;
    const watch = guard.watch((error) => {
      // Released here, not when serve() unwinds: a preempted request frees its share synchronously.
      lease?.release();
      this.answer(request, response, signal, encoding, error, true);
    });
    try {
      const { payload, wireBytes } = await receiveBody(request, {
        coding,
        maxBodyBytes: config.http.maxBodyBytes,
        maxPayloadBytes,
        maxPayloadSetting,
        declaredBytes: Number.isFinite(declared) && declared >= 0 ? declared : undefined,
        admission,
        watch,
        onLease: (taken) => (lease = taken),
      });
      handler.countBytes('http', signal, wireBytes);
      const body = await handler.handle(processors[signal], payload, encoding, 'http');
      if (response.headersSent || response.destroyed) return;
      // While shutting down, close each connection after its answer so the server can finish closing.
      if (admission.isClosing) response.setHeader('Connection', 'close');
      response.writeHead(200, {
        'Content-Type': CONTENT_TYPES[encoding],
        'Content-Length': body.byteLength,
        Date: httpDate(),
      });
      response.end(body);
    } catch (error) {
      const ingestError = error instanceof IngestError ? error : internalError(error);
      this.answer(request, response, signal, encoding, ingestError);
    } finally {
      watch.done();
      lease?.release();
    }
  }

  /**
   * Answers with the error's status (once) and closes the connection when any of the body may be left
   * unread. The rest of the body is read and dropped, so the sender reads the answer instead of a reset;
   * a sender cut for being too slow (`destroy`) is not waited for.
   */
  private answer(
    request: IncomingMessage,
    response: ServerResponse,
    signal: Signal,
    encoding: PayloadEncoding,
    error: IngestError,
    destroy = false,
  ): void {
    if (response.headersSent || response.destroyed) return;
    this.options.handler.countRefused('http', signal, error);
    if (error.retryAfterSeconds !== undefined)
      response.setHeader('Retry-After', String(error.retryAfterSeconds));
    if (!request.complete || this.options.admission.isClosing) response.setHeader('Connection', 'close');
    const body = this.options.encodeStatus(error, encoding);
    response.writeHead(error.kind.httpStatus, {
      'Content-Type': CONTENT_TYPES[encoding],
      'Content-Length': body.byteLength,
      Date: httpDate(),
    });
    response.end(body);
    if (destroy) response.once('finish', () => request.socket.destroy());
    else if (!request.complete) this.drain(request);
  }

  /**
   * Reads and drops what is left of a refused body, so that the sender gets to read the answer rather than
   * a reset, but at most DRAIN_MAX_BYTES or for DRAIN_MAX_MS: a sender that keeps pushing a large body after
   * its refusal is disconnected instead of being read for free.
   */
  private drain(request: IncomingMessage): void {
    request.removeAllListeners('data');
    let drained = 0;
    const stop = (): void => {
      clearTimeout(timer);
      request.socket.destroy();
    };
    const timer = setTimeout(stop, DRAIN_MAX_MS);
    timer.unref();
    request.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > DRAIN_MAX_BYTES) stop();
    });
    request.once('end', () => clearTimeout(timer));
    request.resume();
  }
}

function notFound(path: string): IngestError {
  return new IngestError(
    'OTLP_NOT_FOUND',
    `no OTLP endpoint at ${path}; use /v1/traces, /v1/metrics or /v1/logs`,
  );
}

function internalError(error: unknown): IngestError {
  return new IngestError('OTLP_BAD_PAYLOAD', `cannot read the request: ${(error as Error).message}`);
}
