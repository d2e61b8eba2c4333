// One OTLP/HTTP-protobuf trace export from the benchmarks' client processes (load-generator.ts,
// latency-client.ts): the answer's status code, or undefined when the request failed on the wire.
import { type Agent, request } from 'node:http';

export function postTraces(baseUrl: string, agent: Agent, payload: Buffer): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(
      `${baseUrl}/v1/traces`,
      {
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': payload.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve(undefined));
    req.end(payload);
  });
}
