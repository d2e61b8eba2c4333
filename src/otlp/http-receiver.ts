// OTLP/HTTP receiver (spec: "OTLP/HTTP"): POST /v1/traces, /v1/metrics, /v1/logs with
// application/x-protobuf or application/json bodies, optionally gzip- or deflate-compressed.
// The response uses the request's encoding; errors carry a google.rpc.Status body.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import type { Logger } from 'pino';
import type { OtlpConfig } from '../config/schema.js';
import type { Signal } from '../publish/metrics.js';
import type { Admission } from './admission.js';
import type { BearerCheck } from './auth.js';
import { IngestError } from './errors.js';
import type { ExportHandler, PayloadEncoding, SignalProcessor } from './export-handler.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

export type StatusEncoder = (error: IngestError, encoding: PayloadEncoding) => Uint8Array;

export interface HttpReceiverOptions {
  config: OtlpConfig;
  processors: Record<Signal, SignalProcessor>;
  handler: ExportHandler;
  admission: Admission;
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

/** Reads the body up to `limit` bytes on the wire; past it, stops reading and refuses with 413. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(
        new IngestError(
          'OTLP_PAYLOAD_TOO_LARGE',
          `body of ${declared} bytes exceeds the limit of ${limit} bytes`,
        ),
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        reject(new IngestError('OTLP_PAYLOAD_TOO_LARGE', `body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks, size)));
    request.on('error', reject);
    request.on('aborted', () => reject(new Error('client aborted the request')));
  });
}

/** Undoes Content-Encoding, refusing to expand past `limit` bytes (gzip bombs). */
async function decompress(body: Buffer, contentEncoding: string | undefined, limit: number): Promise<Buffer> {
  const coding = (contentEncoding ?? 'identity').trim().toLowerCase();
  try {
    if (coding === 'identity' || coding === '') return body;
    if (coding === 'gzip' || coding === 'x-gzip') return await gunzipAsync(body, { maxOutputLength: limit });
    if (coding === 'deflate') return await inflateAsync(body, { maxOutputLength: limit });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new IngestError(
        'OTLP_PAYLOAD_TOO_LARGE',
        `decompressed body exceeds the limit of ${limit} bytes`,
      );
    }
    throw new IngestError('OTLP_BAD_PAYLOAD', `body is not valid ${coding}: ${(error as Error).message}`);
  }
  throw new IngestError(
    'OTLP_UNSUPPORTED_ENCODING',
    `Content-Encoding ${coding} is not supported; use gzip, deflate or none`,
  );
}

export class HttpReceiver {
  private server: Server | undefined;

  constructor(private readonly options: HttpReceiverOptions) {}

  async start(): Promise<number> {
    const { config } = this.options;
    const listener = (request: IncomingMessage, response: ServerResponse): void => {
      void this.serve(request, response);
    };
    this.server = config.tls
      ? createHttpsServer(
          { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
          listener,
        )
      : createHttpServer(listener);
    // Slow-loris guard: a request must arrive whole within this time.
    this.server.requestTimeout = 60_000;
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => resolve());
    });
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : config.http.port;
  }

  /** Stops accepting connections; requests already admitted finish (the caller waits on Admission). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
  }

  /** Ends connections still open after the drain deadline. */
  forceClose(): void {
    this.server?.closeAllConnections();
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { processors, handler, admission, authorize, config } = this.options;
    const signal = PATHS[(request.url ?? '').split('?')[0]];
    const encoding = encodingOf(request.headers['content-type']) ?? 'json';
    if (signal === undefined) {
      return this.refuse(
        response,
        'traces',
        encoding,
        new IngestError(
          'OTLP_NOT_FOUND',
          `no OTLP endpoint at ${request.url}; use /v1/traces, /v1/metrics or /v1/logs`,
        ),
        false,
      );
    }
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      return this.refuse(
        response,
        signal,
        encoding,
        new IngestError('OTLP_METHOD_NOT_ALLOWED', `${request.method} is not allowed; OTLP/HTTP uses POST`),
        false,
      );
    }
    if (!authorize(request.headers.authorization)) {
      response.setHeader('WWW-Authenticate', 'Bearer');
      return this.refuse(
        response,
        signal,
        encoding,
        new IngestError('OTLP_UNAUTHENTICATED', 'missing or wrong bearer token'),
        false,
      );
    }
    if (encodingOf(request.headers['content-type']) === undefined) {
      return this.refuse(
        response,
        signal,
        'json',
        new IngestError(
          'OTLP_UNSUPPORTED_MEDIA_TYPE',
          `Content-Type ${request.headers['content-type'] ?? '(none)'} is not supported; use application/x-protobuf or application/json`,
        ),
        false,
      );
    }
    if (!admission.tryAcquire()) {
      const code = admission.isClosing ? 'OTLP_SHUTTING_DOWN' : 'OTLP_OVERLOADED';
      const why = admission.isClosing
        ? 'the receiver is shutting down'
        : 'too many export requests in flight';
      return this.refuse(
        response,
        signal,
        encoding,
        new IngestError(code, `${why}; retry later`, config.retryAfterSeconds),
        false,
      );
    }
    try {
      const wire = await readBody(request, config.http.maxBodyBytes);
      handler.countBytes('http', signal, wire.length);
      const payload = await decompress(
        wire,
        request.headers['content-encoding'],
        config.maxDecompressedBytes,
      );
      const body = handler.handle(processors[signal], payload, encoding, 'http');
      // While shutting down, close each connection after its answer so the server can finish closing.
      if (admission.isClosing) response.setHeader('Connection', 'close');
      response.writeHead(200, { 'Content-Type': CONTENT_TYPES[encoding], 'Content-Length': body.byteLength });
      response.end(body);
    } catch (error) {
      const ingestError =
        error instanceof IngestError
          ? error
          : new IngestError('OTLP_BAD_PAYLOAD', `cannot read the request: ${(error as Error).message}`);
      // A refused oversize body is not read further: close the connection instead of draining it.
      this.refuse(response, signal, encoding, ingestError, ingestError.code === 'OTLP_PAYLOAD_TOO_LARGE');
    } finally {
      admission.release();
    }
  }

  private refuse(
    response: ServerResponse,
    signal: Signal,
    encoding: PayloadEncoding,
    error: IngestError,
    closeConnection: boolean,
  ): void {
    this.options.handler.countRefused('http', signal, error);
    if (error.retryAfterSeconds !== undefined)
      response.setHeader('Retry-After', String(error.retryAfterSeconds));
    if (closeConnection || this.options.admission.isClosing) response.setHeader('Connection', 'close');
    if (response.headersSent || response.destroyed) return;
    const body = this.options.encodeStatus(error, encoding);
    response.writeHead(error.kind.httpStatus, {
      'Content-Type': CONTENT_TYPES[encoding],
      'Content-Length': body.byteLength,
    });
    response.end(body);
  }
}
