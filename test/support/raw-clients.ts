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
