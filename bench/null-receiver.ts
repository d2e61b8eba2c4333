// The ingest benchmark's null receivers, each started in a process of its own (bench/ingest.ts): OTLP/HTTP
// reads each request's body whole, as any receiver must before decoding, and answers an empty success without
// decoding it; OTLP/gRPC answers each Export with an empty message. Prints "listening <port>" once it accepts
// connections, and runs until it is signalled.
// Usage: node dist/bench/null-receiver.js <http|grpc>
import { createServer } from 'node:http';
import { Server, ServerCredentials } from '@grpc/grpc-js';

async function nullHttp(): Promise<number> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      Buffer.concat(chunks);
      response.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': 0 });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function nullGrpc(): Promise<number> {
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  // The Export service as src/otlp/grpc-receiver.ts defines it, written out here so that this process loads
  // none of the sidecar's modules: the null rows measure Node's transport alone.
  const identity = (bytes: Buffer) => bytes;
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      Export: (_call: unknown, callback: (error: null, response: Buffer) => void) =>
        callback(null, Buffer.alloc(0)),
    },
  );
  return new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
}

const port = await (process.argv[2] === 'grpc' ? nullGrpc() : nullHttp());
process.stdout.write(`listening ${port}\n`);
process.once('SIGTERM', () => process.exit(0));
