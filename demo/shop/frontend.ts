// The shop's frontend: for each checkout it evaluates `new-checkout-flow` for the user through OpenFeature
// inside its server span, then calls the checkout backend over HTTP with the trace context in the W3C
// `traceparent` header (client span -> backend server span), and answers with the backend's outcome.
// It tells the caller which flow served the request (`x-checkout-flow`) so the load driver can count
// exposure; canary-judge never sees that header.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { Client } from '@openfeature/server-sdk';
import { core } from '@opentelemetry/sdk-node';
import { FLAG_KEY } from '../flag-service.js';
import { httpCall, keepAliveAgent } from '../http-call.js';

const propagator = new core.W3CTraceContextPropagator();
const headerSetter = {
  set: (carrier: Record<string, string>, key: string, value: string) => {
    carrier[key] = value;
  },
};

export class Frontend {
  private server: Server | undefined;
  private readonly agent = keepAliveAgent();

  constructor(
    private readonly tracer: Tracer,
    private readonly flags: Client,
    private readonly checkoutUrl: string,
  ) {}

  async start(): Promise<string> {
    const server = createServer((request, response) => void this.handle(request, response));
    server.keepAliveTimeout = 30_000;
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.agent.destroy();
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const userId = new URL(request.url ?? '/', 'http://localhost').searchParams.get('user') ?? 'anonymous';
    request.resume();
    return this.tracer.startActiveSpan(
      'POST /cart/checkout',
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'POST', 'http.route': '/cart/checkout' },
      },
      (span) => this.checkout(span, userId, response),
    );
  }

  private async checkout(span: Span, userId: string, response: ServerResponse): Promise<void> {
    // Evaluated in the server span's context: the hook's event carries this trace id.
    const newFlow = await this.flags.getBooleanValue(FLAG_KEY, false, { targetingKey: userId });
    const flow = newFlow ? 'new' : 'classic';
    // The backend unreachable is a 502 from the frontend, recorded like any other failure.
    const status = await this.callCheckout(flow).catch(() => 502);
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    response.writeHead(status, { 'x-checkout-flow': flow, 'content-type': 'text/plain' });
    response.end(status < 500 ? 'ok' : 'checkout failed');
    span.end();
  }

  private async callCheckout(flow: string): Promise<number> {
    const client = this.tracer.startSpan('POST', {
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': 'POST', 'url.full': `${this.checkoutUrl}/checkout` },
    });
    const headers: Record<string, string> = { 'x-checkout-flow': flow };
    propagator.inject(trace.setSpan(context.active(), client), headers, headerSetter);
    try {
      const result = await httpCall(this.agent, `${this.checkoutUrl}/checkout`, { method: 'POST', headers });
      client.setAttribute('http.response.status_code', result.status);
      if (result.status >= 500) client.setStatus({ code: SpanStatusCode.ERROR });
      return result.status;
    } finally {
      client.end();
    }
  }
}
