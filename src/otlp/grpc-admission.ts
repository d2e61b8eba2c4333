// Admission for OTLP/gRPC, as a grpc-js server interceptor, so that nothing is buffered for a call before it
// is authenticated and admitted, and what it buffers afterwards is charged to the ingest budget as it
// arrives (issue 9, case 6: grpc-js buffered 400 streams x 5 MiB of partial messages before any check).
//
// What grpc-js allows (read in @grpc/grpc-js 1.14, src/server-interceptors.ts and stream-decoder.ts):
// - A call's HTTP/2 stream is paused from its creation until the handler asks to read (startRead). This
//   interceptor answers the metadata first: shutdown, token and (without the stream hook) admission are
//   checked there and a refusal is sent before startRead, so a refused call never has its body read. Until
//   then Node's HTTP/2 stream flow-control window (65,535 bytes; grpc-js sets no other) is all a sender
//   can push per stream, and grpc.max_concurrent_streams bounds the streams per connection.
// - Once reading, grpc-js assembles each message whole (up to grpc.max_receive_message_length) and
//   inflates a compressed one before anything sees it; there is no public hook per data frame. The
//   interceptor therefore listens on the call's HTTP/2 stream itself (BaseServerInterceptingCall.stream, a
//   private field: found by shape, see http2StreamOf) with a listener placed before grpc-js's own, so each
//   data frame is charged to the budget before grpc-js keeps it, the 5-byte gRPC message prefix gives the
//   length and compression flag, and a refusal (sendStatus) marks the call cancelled so grpc-js drops the
//   frame unread. The first frame of a compressed message reserves what grpc-js may hold while it inflates
//   it: the frames and its copy of them, twice the most the message can inflate to (its parts and their
//   concatenation), which is max_receive_message_length or deflate's limit of 1,032 bytes out per byte in,
//   whichever is less, and the inflater's own state (INFLATER_BYTES). The decoded batch is charged when the message arrives and its real size is known
//   (the call is refused then if the budget cannot take it), beside the frames: grpc-js's StreamDecoder keeps
//   them (readPartialMessage) until the call ends, compressed or not. Reserving 4 x max_receive_message_length per
//   compressed call, as before, admitted one gzip call at a time with the default budget.
// - If a grpc-js version hides the stream, the interceptor falls back to reserving, at metadata time,
//   4 x max_receive_message_length per call (the most one call can hold), which keeps the same bound with
//   fewer calls admitted at once. `accounting` says which mode is in use; a test pins it.
// - grpc-js runs a unary handler only on the client's half-close (END_STREAM), so a call whose message is whole
//   stays watched by the receive guard until its stream ends, and is cut (DEADLINE_EXCEEDED) if the client does
//   not half-close within otlp.receiveGraceMs (receive-guard.ts, whole).
// The bound achieved: every byte a gRPC call holds is inside otlp.maxIngestBytes, except up to one HTTP/2
// data frame (16 KiB by default) per stream that arrived before it was refused, and, for streams not yet
// read, the 64 KiB flow-control window per stream.
import { constants as http2Constants, type ServerHttp2Stream } from 'node:http2';
import {
  Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { OtlpConfig } from '../config/schema.js';
import type { Signal } from '../publish/metrics.js';
import { DECODED_BYTES_PER_PAYLOAD_BYTE, type Admission, type IngestLease } from './admission.js';
import type { BearerCheck } from './auth.js';
import { IngestError } from './errors.js';
import type { ExportHandler } from './export-handler.js';
import type { StatusEncoder } from './http-receiver.js';
import type { ReceiveGuard, ReceiveWatch } from './receive-guard.js';

export const SERVICE_PATHS: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};
const { NGHTTP2_NO_ERROR } = http2Constants;
/** Charge per payload byte: the payload and the decoded batch it becomes (admission.ts). */
const PAYLOAD_CHARGE = 1 + DECODED_BYTES_PER_PAYLOAD_BYTE;
/**
 * Most bytes deflate (gzip's and grpc-js's `deflate` encoding) inflates one byte to: a length/distance pair of
 * at least two bits gives at most 258 bytes (zlib FAQ, "maximum compression ratio"), headers give none.
 */
const MAX_INFLATION_RATIO = 1032;
/**
 * What the inflater itself holds, outside the message: zlib's state and 32 KiB window and Node's 16 KiB output
 * chunk (2,000 Gunzip streams in flight at once: 54,528 bytes of RSS each, Node 20), and grpc-js's size check
 * runs after a chunk is kept, so the parts pass max_receive_message_length by up to that chunk. For a small
 * message it is most of what its call holds.
 */
const INFLATER_BYTES = 64 * 1024;

/**
 * What a compressed message of `messageBytes` holds at most while grpc-js inflates it (server-interceptors.js,
 * decompressMessage): its frames and the message grpc-js assembled from them, and the inflated parts with their
 * concatenation, each at most `maxMessageBytes` (grpc-js refuses more) and 1,032 x the compressed bytes.
 */
function compressedReservation(messageBytes: number, maxMessageBytes: number): number {
  const frames = 5 + messageBytes;
  return 2 * frames + 2 * Math.min(maxMessageBytes, MAX_INFLATION_RATIO * messageBytes) + INFLATER_BYTES;
}
/** An Export call carries one request message; data after it is a second one. */
function secondMessage(): IngestError {
  return new IngestError(
    'OTLP_BAD_PAYLOAD',
    'an Export call carries one request message; more data followed it',
  );
}
const SIGNAL_OF_PATH = new Map(
  Object.entries(SERVICE_PATHS).map(([signal, path]) => [path, signal as Signal]),
);

export interface GrpcAdmissionOptions {
  config: OtlpConfig;
  admission: Admission;
  guard: ReceiveGuard;
  authorize: BearerCheck;
  handler: ExportHandler;
  encodeStatus: StatusEncoder;
}

/** The call's HTTP/2 stream, found by shape on grpc-js's call chain, or undefined. */
function http2StreamOf(call: ServerInterceptingCallInterface): ServerHttp2Stream | undefined {
  let node: unknown = call;
  for (let depth = 0; depth < 8 && node !== null && typeof node === 'object'; depth++) {
    const candidate = (node as { stream?: unknown }).stream;
    if (
      candidate !== null &&
      typeof candidate === 'object' &&
      typeof (candidate as ServerHttp2Stream).prependListener === 'function' &&
      typeof (candidate as ServerHttp2Stream).respond === 'function' &&
      'session' in candidate
    ) {
      return candidate as ServerHttp2Stream;
    }
    node = (node as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}

export class GrpcAdmission {
  /** How calls are charged: per data frame (the stream hook) or by a reservation per call (fallback). */
  accounting: 'per-frame' | 'per-call' | undefined;

  constructor(private readonly options: GrpcAdmissionOptions) {}

  /** The refusal as gRPC sends it: status, message, and the google.rpc.Status (RetryInfo) in the trailer. */
  statusOf(error: IngestError): { code: number; details: string; metadata: Metadata } {
    const metadata = new Metadata();
    const status = this.options.encodeStatus(error, 'protobuf');
    metadata.set('grpc-status-details-bin', Buffer.from(status.buffer, status.byteOffset, status.byteLength));
    return { code: error.kind.grpcStatus, details: error.message, metadata };
  }

  readonly interceptor: ServerInterceptor = (method, call) => {
    const signal = SIGNAL_OF_PATH.get(method.path);
    if (signal === undefined) return new ServerInterceptingCall(call);
    return new CallAdmission(this, this.options, signal, call, http2StreamOf(call)).intercepting;
  };
}

/** The admission state of one call. */
class CallAdmission {
  readonly intercepting: ServerInterceptingCall;
  private lease: IngestLease | undefined;
  private watch: ReceiveWatch | undefined;
  private finished = false;
  private received = 0;
  private readonly prefix = Buffer.alloc(5);
  private messageBytes = -1;
  private complete = false;
  private readonly onData = (chunk: Buffer): void => this.data(chunk);
  /** The client half-closed (END_STREAM): the call is received. */
  private readonly onEnd = (): void => this.watch?.done();

  constructor(
    private readonly owner: GrpcAdmission,
    private readonly options: GrpcAdmissionOptions,
    private readonly signal: Signal,
    private readonly call: ServerInterceptingCallInterface,
    private readonly stream: ServerHttp2Stream | undefined,
  ) {
    owner.accounting ??= stream ? 'per-frame' : 'per-call';
    this.intercepting = new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, proceed) => this.metadata(metadata, proceed),
          onReceiveMessage: (message: unknown, proceed) => this.message(message, proceed),
          onCancel: () => this.end(),
        }),
      sendStatus: (status, proceed) => {
        this.end();
        proceed(status);
      },
    });
  }

  private metadata(metadata: Metadata, proceed: (metadata: Metadata) => void): void {
    const { admission, authorize, config, guard } = this.options;
    if (admission.isClosing) {
      return this.refuse(
        new IngestError(
          'OTLP_SHUTTING_DOWN',
          'the receiver is shutting down; retry later',
          config.retryAfterSeconds,
        ),
      );
    }
    const header = metadata.get('authorization')[0];
    if (!authorize(typeof header === 'string' ? header : undefined)) {
      return this.refuse(new IngestError('OTLP_UNAUTHENTICATED', 'missing or wrong bearer token'));
    }
    this.watch = guard.watch((error) => this.refuse(error));
    if (this.stream) this.stream.prependListener('data', this.onData);
    else {
      // Fallback: reserve the most one call can hold before anything is read.
      if (!this.admit()) return;
      if (!this.lease!.grow(4 * config.grpc.maxMessageBytes)) return this.refuse(admission.overBudget());
    }
    proceed(metadata);
  }

  /**
   * The first frame of the message carries its 5-byte prefix (compression flag, length): the whole message
   * is reserved then, with the decoded batch it will become (a compressed one: what inflating it may hold,
   * compressedReservation; its decoded batch when it arrives), so a call is admitted or refused on its first
   * frame, and calls admitted together cannot starve one another half way. Bytes before the prefix is whole
   * are charged as they come.
   */
  private data(chunk: Buffer): void {
    if (this.finished || chunk.length === 0) return;
    // grpc-js's unary handler reads on after the message for the half-close, and its decoder would keep the
    // frames of a second message, uncharged and untimed, until the call ends.
    if (this.complete) return this.refuse(secondMessage());
    this.watch?.progress(chunk.length);
    if (!this.admit()) return;
    const hadPrefix = this.messageBytes >= 0;
    for (let i = 0; i < chunk.length && this.received + i < 5; i++) this.prefix[this.received + i] = chunk[i];
    this.received += chunk.length;
    if (!hadPrefix) {
      if (this.received < 5) {
        if (!this.lease!.grow(chunk.length)) this.refuse(this.options.admission.overBudget());
        return;
      }
      this.messageBytes = this.prefix.readUInt32BE(1);
      const max = this.options.config.grpc.maxMessageBytes;
      // grpc-js refuses an oversized message itself (RESOURCE_EXHAUSTED) on this frame.
      if (this.messageBytes > max) return;
      const reserve =
        this.prefix[0] === 1
          ? compressedReservation(this.messageBytes, max)
          : PAYLOAD_CHARGE * (5 + this.messageBytes);
      if (!this.lease!.resize(reserve)) return this.refuse(this.options.admission.overBudget());
    }
    if (this.received < 5 + this.messageBytes) return;
    if (this.received > 5 + this.messageBytes) return this.refuse(secondMessage());
    this.complete = true;
    // grpc-js runs a unary handler only on the half-close; until the client sends it the call keeps its slot and
    // bytes, so the guard goes on watching it (receive-guard.ts, whole). The stream's 'end' is the client's
    // END_STREAM, emitted while grpc-js is paused inflating a gzip message too: only the client's wait is timed.
    // A client that half-closes with its message ends in this loop turn, before the guard arms any timer.
    this.watch?.whole();
    this.stream?.once('end', this.onEnd);
    // grpc-js now copies the frames into one message (held for a moment beside them).
    if (this.prefix[0] !== 1 && !this.lease!.grow(this.messageBytes)) {
      this.refuse(this.options.admission.overBudget());
    }
  }

  private message(message: unknown, proceed: (message: unknown) => void): void {
    // Without the stream hook the half-close cannot be seen; the call is received when its message is.
    if (!this.stream) this.watch?.done();
    // Held from now on: the message and its decoded batch, and the frames as they came, which grpc-js's
    // StreamDecoder keeps (readPartialMessage) until the call ends (without the stream hook their length is not
    // known: the fallback's reservation was 4 x max_receive_message_length). An uncompressed message's
    // reservation covers that; an inflated one's may not, and is refused if the budget cannot take it.
    const frames = this.messageBytes >= 0 ? 5 + this.messageBytes : 0;
    if (
      this.lease &&
      Buffer.isBuffer(message) &&
      !this.lease.resize(PAYLOAD_CHARGE * message.length + frames)
    ) {
      return this.refuse(this.options.admission.overBudget());
    }
    // Bytes as they came (canary_judge_otlp_received_bytes_total): a compressed message's length on the wire,
    // from its prefix, not what grpc-js inflated it to (without the stream hook, only the latter is known).
    const length = Buffer.isBuffer(message) ? message.length : 0;
    this.options.handler.countBytes('grpc', this.signal, this.messageBytes >= 0 ? this.messageBytes : length);
    proceed(message);
  }

  private admit(): boolean {
    if (this.lease) return true;
    const admitted = this.options.admission.admit();
    if (admitted instanceof IngestError) {
      this.refuse(admitted);
      return false;
    }
    this.lease = admitted;
    return true;
  }

  private refuse(error: IngestError): void {
    if (this.finished) return;
    this.options.handler.countRefused('grpc', this.signal, error);
    this.end();
    this.call.sendStatus(this.owner.statusOf(error));
    // A call cut part way through its message (too slow, or giving way) is also reset: grpc-js keeps the
    // part it received while the stream is open, and a stalled sender would never close it. The status is
    // queued first, so the sender reads it; RST_STREAM(NO_ERROR) after a complete response is what HTTP/2
    // prescribes for "stop sending" (RFC 9113, 8.1). Calls refused on their first frame hold nothing and
    // are not reset (Node closes a connection that has had too many streams reset).
    const stream = this.stream;
    if (error.code === 'OTLP_TOO_SLOW' && stream && !stream.destroyed) {
      setImmediate(() => stream.close(NGHTTP2_NO_ERROR));
    }
  }

  /** Releases everything the call held; safe to call more than once. */
  private end(): void {
    if (this.finished) return;
    this.finished = true;
    this.watch?.done();
    this.stream?.off('data', this.onData);
    this.stream?.off('end', this.onEnd);
    this.lease?.release();
  }
}
