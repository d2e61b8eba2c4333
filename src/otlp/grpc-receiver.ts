// OTLP/gRPC receiver (spec: "OTLP/gRPC"): the Export method of the trace, metrics and logs collector
// services. Messages are taken as raw bytes and decoded by our own decoders, so a malformed message
// becomes INVALID_ARGUMENT with a precise message instead of a generic deserialization failure.
// grpc-js handles `grpc-encoding: gzip` and enforces the message size limit (RESOURCE_EXHAUSTED); the
// interceptor of grpc-admission.ts checks shutdown, token and the ingest budget before a body is kept.
import { readFileSync } from 'node:fs';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { OtlpConfig } from '../config/schema.js';
import type { Signal } from '../publish/metrics.js';
import type { Admission } from './admission.js';
import { GrpcAdmission, SERVICE_PATHS } from './grpc-admission.js';
import type { ReceiveGuard } from './receive-guard.js';
import type { BearerCheck } from './auth.js';
import { IngestError } from './errors.js';
import type { ExportHandler, SignalProcessor } from './export-handler.js';
import type { StatusEncoder } from './http-receiver.js';

export interface GrpcReceiverOptions {
  config: OtlpConfig;
  processors: Record<Signal, SignalProcessor>;
  handler: ExportHandler;
  admission: Admission;
  guard: ReceiveGuard;
  authorize: BearerCheck;
  encodeStatus: StatusEncoder;
  logger: Logger;
}

const identity = (bytes: Buffer): Buffer => bytes;

function serviceDefinition(signal: Signal): ServiceDefinition {
  return {
    Export: {
      path: SERVICE_PATHS[signal],
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}

export class GrpcReceiver {
  private server: Server | undefined;
  readonly admission: GrpcAdmission;

  constructor(private readonly options: GrpcReceiverOptions) {
    this.admission = new GrpcAdmission(options);
  }

  async start(): Promise<number> {
    const { config } = this.options;
    const server = new Server({
      'grpc.max_receive_message_length': config.grpc.maxMessageBytes,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
      // Per connection: calls open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS), and the idle timeout.
      'grpc.max_concurrent_streams': config.grpc.maxConcurrentStreams,
      'grpc.max_connection_idle_ms': config.grpc.idleTimeoutMs,
      interceptors: [this.admission.interceptor],
    });
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      server.addService(serviceDefinition(signal), {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
          void this.export(signal, call, callback),
      });
    }
    const credentials = config.tls
      ? ServerCredentials.createSsl(null, [
          { cert_chain: readFileSync(config.tls.certFile), private_key: readFileSync(config.tls.keyFile) },
        ])
      : ServerCredentials.createInsecure();
    const address = `${config.grpc.host.includes(':') ? `[${config.grpc.host}]` : config.grpc.host}:${config.grpc.port}`;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, credentials, (error, boundPort) =>
        error ? reject(error) : resolve(boundPort),
      ),
    );
    this.server = server;
    return port;
  }

  /**
   * Receiver side of shutdown: while the admission is closing, new calls are answered UNAVAILABLE +
   * RetryInfo by the interceptor; once the admitted ones are answered, the server stops (GOAWAY).
   */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await this.options.admission.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }

  forceClose(): void {
    this.server?.forceShutdown();
  }

  /** Auth and admission happened in the interceptor; here the decoded batch is charged and handled. */
  private async export(
    signal: Signal,
    call: ServerUnaryCall<Buffer, Buffer>,
    callback: sendUnaryData<Buffer>,
  ): Promise<void> {
    const { handler } = this.options;
    try {
      // The request's bytes were counted by the admission interceptor (grpc-admission.ts), as they came.
      const response = await handler.handle(
        this.options.processors[signal],
        call.request,
        'protobuf',
        'grpc',
      );
      callback(null, Buffer.from(response.buffer, response.byteOffset, response.byteLength));
    } catch (error) {
      const ingestError =
        error instanceof IngestError
          ? error
          : new IngestError('OTLP_INTERNAL', `internal error while processing ${signal}`);
      this.options.handler.countRefused('grpc', signal, ingestError);
      const { code, details, metadata } = this.admission.statusOf(ingestError);
      callback({ code, details, metadata });
    }
  }
}
