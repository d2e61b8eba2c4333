// OTLP/gRPC receiver (spec: "OTLP/gRPC"): the Export method of the trace, metrics and logs collector
// services. Messages are taken as raw bytes and decoded by our own decoders, so a malformed message
// becomes INVALID_ARGUMENT with a precise message instead of a generic deserialization failure.
// grpc-js handles `grpc-encoding: gzip` and enforces the message size limit (RESOURCE_EXHAUSTED).
import { readFileSync } from 'node:fs';
import {
  Metadata,
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
import type { BearerCheck } from './auth.js';
import { IngestError } from './errors.js';
import type { ExportHandler, SignalProcessor } from './export-handler.js';
import type { StatusEncoder } from './http-receiver.js';

export interface GrpcReceiverOptions {
  config: OtlpConfig;
  processors: Record<Signal, SignalProcessor>;
  handler: ExportHandler;
  admission: Admission;
  authorize: BearerCheck;
  encodeStatus: StatusEncoder;
  logger: Logger;
}

const SERVICE_PATHS: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

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

  constructor(private readonly options: GrpcReceiverOptions) {}

  async start(): Promise<number> {
    const { config } = this.options;
    const server = new Server({
      'grpc.max_receive_message_length': config.grpc.maxMessageBytes,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
    });
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      server.addService(serviceDefinition(signal), {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
          this.export(signal, call, callback),
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

  /** Stops accepting calls and waits for calls under way to finish. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }

  forceClose(): void {
    this.server?.forceShutdown();
  }

  private export(
    signal: Signal,
    call: ServerUnaryCall<Buffer, Buffer>,
    callback: sendUnaryData<Buffer>,
  ): void {
    const { handler, admission, authorize, config } = this.options;
    const header = call.metadata.get('authorization')[0];
    if (!authorize(typeof header === 'string' ? header : undefined)) {
      return this.refuse(
        signal,
        callback,
        new IngestError('OTLP_UNAUTHENTICATED', 'missing or wrong bearer token'),
      );
    }
    if (!admission.tryAcquire()) {
      const closing = admission.isClosing;
      const error = new IngestError(
        closing ? 'OTLP_SHUTTING_DOWN' : 'OTLP_OVERLOADED',
        `${closing ? 'the receiver is shutting down' : 'too many export requests in flight'}; retry later`,
        config.retryAfterSeconds,
      );
      return this.refuse(signal, callback, error);
    }
    try {
      handler.countBytes('grpc', signal, call.request.length);
      const response = handler.handle(this.options.processors[signal], call.request, 'protobuf', 'grpc');
      callback(null, Buffer.from(response.buffer, response.byteOffset, response.byteLength));
    } catch (error) {
      const ingestError =
        error instanceof IngestError
          ? error
          : new IngestError('OTLP_INTERNAL', `internal error while processing ${signal}`);
      this.refuse(signal, callback, ingestError);
    } finally {
      admission.release();
    }
  }

  /** Answers with the error's status; the full google.rpc.Status (with RetryInfo when retryable) rides in grpc-status-details-bin. */
  private refuse(signal: Signal, callback: sendUnaryData<Buffer>, error: IngestError): void {
    this.options.handler.countRefused('grpc', signal, error);
    const metadata = new Metadata();
    const status = this.options.encodeStatus(error, 'protobuf');
    metadata.set('grpc-status-details-bin', Buffer.from(status.buffer, status.byteOffset, status.byteLength));
    callback({ code: error.kind.grpcStatus, details: error.message, metadata });
  }
}
