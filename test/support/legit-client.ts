// A well-behaved OTLP sender for attack tests: small valid trace exports over HTTP and gRPC in turn, one
// at a time, retrying a refusal that says to retry (503 + Retry-After / UNAVAILABLE) after a short pause,
// as the OTel exporters do. Each export must be accepted within `deadlineMs`; anything else is a failure.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { rawGrpc, rawHttp, TRACE_EXPORT } from './raw-clients.js';
import { knownSpans } from './telemetry.js';

/** Network errors the OTel JS HTTP exporter retries (isHttpTransportNetworkErrorRetryable). */
const RETRYABLE_NETWORK_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

const payload = Buffer.from(ProtobufTraceSerializer.serializeRequest(knownSpans())!);

export interface LegitReport {
  /** Exports accepted (after retries). */
  served: number;
  /** Refusals that told the sender to retry, before an export was accepted. */
  retried: number;
  /** Exports that were not accepted within the deadline, or answered anything but success or retry. */
  failures: string[];
}

export class LegitClient {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly report: LegitReport = { served: 0, retried: 0, failures: [] };

  constructor(
    private readonly target: { httpUrl: string; grpcAddress: string },
    private readonly deadlineMs = 8_000,
    private readonly pauseMs = 100,
  ) {}

  start(): this {
    this.running = true;
    this.loop = this.run();
    return this;
  }

  async stop(): Promise<LegitReport> {
    this.running = false;
    await this.loop;
    return this.report;
  }

  private async run(): Promise<void> {
    let useGrpc = false;
    while (this.running) {
      await this.exportOnce(useGrpc);
      useGrpc = !useGrpc;
      await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
    }
  }

  private async exportOnce(useGrpc: boolean): Promise<void> {
    const started = Date.now();
    for (;;) {
      const outcome = await this.attempt(useGrpc);
      if (outcome === 'ok') {
        this.report.served += 1;
        return;
      }
      if (outcome !== 'retry') {
        this.report.failures.push(`${useGrpc ? 'grpc' : 'http'}: ${outcome}`);
        return;
      }
      this.report.retried += 1;
      if (Date.now() - started > this.deadlineMs) {
        this.report.failures.push(`${useGrpc ? 'grpc' : 'http'}: not accepted within ${this.deadlineMs} ms`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async attempt(useGrpc: boolean): Promise<'ok' | 'retry' | string> {
    const timeout = new Promise<string>((resolve) =>
      setTimeout(() => resolve('no answer within 10 s'), 10_000).unref(),
    );
    const answer = useGrpc
      ? rawGrpc(this.target.grpcAddress, TRACE_EXPORT, payload).then(({ error }) => {
          if (!error) return 'ok';
          return error.code === GrpcStatus.UNAVAILABLE ? 'retry' : `status ${error.code} ${error.details}`;
        })
      : rawHttp(`${this.target.httpUrl}/v1/traces`, {
          headers: { 'Content-Type': 'application/x-protobuf' },
          body: payload,
        }).then(
          (response) =>
            response.status === 200 ? 'ok' : response.status === 503 ? 'retry' : `HTTP ${response.status}`,
          // As the OTel JS exporter does (@opentelemetry/otlp-exporter-base 0.223.1,
          // build/src/transport/http-transport-utils.js, isHttpTransportNetworkErrorRetryable): a connection reset or
          // a broken pipe is retried. The sidecar closes a connection after refusing a request under overload.
          (error: NodeJS.ErrnoException) =>
            error.code !== undefined && RETRYABLE_NETWORK_ERRORS.has(error.code)
              ? 'retry'
              : `error ${error.message}`,
        );
    return Promise.race([answer, timeout]);
  }
}
