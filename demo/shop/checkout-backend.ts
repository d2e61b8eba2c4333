// The checkout backend: it does the work the rollout changes, and its server spans are the ones judged.
// It is told which flow to run (`x-checkout-flow`, as a frontend would pass an option) but records no
// variant itself: canary-judge learns it from the frontend's flag evaluation through the trace id that
// arrives in the W3C `traceparent` header.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { core } from '@opentelemetry/sdk-node';
import type { FlowBehaviour } from '../profile.js';

/** How each flow behaves right now; the demo's regression swaps `newFlow` while traffic runs. */
export interface CheckoutBehaviour {
  classic: FlowBehaviour;
  newFlow: FlowBehaviour;
}

const propagator = new core.W3CTraceContextPropagator();
const headerGetter = {
  keys: (carrier: IncomingMessage['headers']) => Object.keys(carrier),
  get: (carrier: IncomingMessage['headers'], key: string) => carrier[key],
};

function lognormalMs(behaviour: FlowBehaviour): number {
  // Box-Muller; 1 - random() keeps log's argument above zero.
  const z = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  return behaviour.medianMs * Math.exp(behaviour.sigma * z);
}

export class CheckoutBackend {
  private server: Server | undefined;

  constructor(
    private readonly tracer: Tracer,
    private readonly behaviour: CheckoutBehaviour,
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
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const startMs = performance.timeOrigin + performance.now();
    const parent = propagator.extract(ROOT_CONTEXT, request.headers, headerGetter);
    const span = this.tracer.startSpan(
      'POST /checkout',
      {
        kind: SpanKind.SERVER,
        startTime: startMs,
        attributes: { 'http.request.method': 'POST', 'http.route': '/checkout', 'url.path': '/checkout' },
      },
      parent,
    );
    request.resume();
    const flow =
      request.headers['x-checkout-flow'] === 'new' ? this.behaviour.newFlow : this.behaviour.classic;
    // The "work": a wait drawn from the flow's latency distribution, then success or a payment error.
    const workMs = lognormalMs(flow);
    await new Promise((resolve) => setTimeout(resolve, workMs));
    const failed = Math.random() < flow.errorRate;
    const status = failed ? 500 : 200;
    span.setAttribute('http.response.status_code', status);
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: 'payment authorization failed' });
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(failed ? '{"error":"payment authorization failed"}' : '{"ok":true}');
    // The span lasts the work, not the work plus how late the timer fired: this process also runs the load,
    // the sidecar and every exporter (and shares the machine), and that lag grows and shrinks over time while
    // the rollout moves the canary share, which would make one arm look slower for reasons no checkout has.
    span.end(startMs + workMs);
  }
}
