// Raw OTLP clients for the cases the SDK exporters never produce: bad bytes, wrong headers, huge bodies.
import { request as httpRequest } from 'node:http';
import { Client, Metadata, credentials, type ServiceError } from '@grpc/grpc-js';

export interface RawHttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request with full control of method, headers and body; resolves even on refusals. */
export function rawHttp(
  url: string,
  {
    method = 'POST',
    headers = {},
    body,
  }: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<RawHttpResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    // The server may close a connection whose body it refuses; the response has arrived by then.
    req.on('error', (error) => reject(error));
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

export const TRACE_EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** HTTP/2 request headers of a raw gRPC trace Export call (uncompressed; add `grpc-encoding` for gzip). */
export const GRPC_EXPORT_HEADERS = {
  ':method': 'POST',
  ':path': TRACE_EXPORT,
  'content-type': 'application/grpc',
  te: 'trailers',
};

/** A gRPC message prefix: the compressed flag and the message's length. */
export function grpcMessagePrefix(length: number, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

/** A unary gRPC call with raw bytes in and out. */
export function rawGrpc(
  address: string,
  path: string,
  payload: Buffer,
  metadata: Record<string, string> = {},
): Promise<{ response?: Buffer; error?: ServiceError }> {
  const client = new Client(address, credentials.createInsecure());
  const md = new Metadata();
  for (const [key, value] of Object.entries(metadata)) md.set(key, value);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      payload,
      md,
      (error, response) => {
        client.close();
        resolve(error ? { error } : { response });
      },
    );
  });
}

/**
 * `message` (a protobuf request) padded to exactly `total` bytes with an unknown length-delimited field (15),
 * which decoders skip; the padding starts with `noise` (random bytes, so that a compressed body does not shrink
 * to almost nothing). Its length is written as a 4-byte varint, so the padding must be under 2^28 bytes.
 */
export function paddedMessage(
  message: Uint8Array,
  total: number,
  noise: Uint8Array = new Uint8Array(0),
): Buffer {
  const padding = total - message.length - 5;
  if (padding < noise.length || padding >= 2 ** 28)
    throw new RangeError(`cannot pad ${message.length} bytes to ${total}`);
  const length = [
    (padding & 0x7f) | 0x80,
    ((padding >>> 7) & 0x7f) | 0x80,
    ((padding >>> 14) & 0x7f) | 0x80,
    padding >>> 21,
  ];
  return Buffer.concat([
    message,
    Buffer.from([(15 << 3) | 2, ...length]),
    noise,
    Buffer.alloc(padding - noise.length),
  ]);
}
