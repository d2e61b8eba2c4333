// The HTTP API port (8686 by default): health, readiness and Prometheus metrics here; the analysis and
// Flagger routes (analyses-routes.ts, flagger-routes.ts) add theirs through `route()`. Plain node:http
// keeps the routes, limits and errors explicit; the API is small enough not to need a framework.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ApiConfig } from '../config/schema.js';
import { bearerCheck, type BearerCheck } from '../otlp/auth.js';
import { ApiProblem } from './request-body.js';

export type RouteHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  params: Record<string, string>,
) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  paramNames: string[];
  handler: RouteHandler;
  open: boolean;
}

export interface ApiServerOptions {
  config: ApiConfig;
  registry: Registry;
  /** Whether the sidecar can take traffic now (receivers listening, store writable, not shutting down), with details for /readyz. */
  readiness: () => { ready: boolean; [detail: string]: unknown };
  logger: Logger;
}

export function sendJson(response: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(statusCode, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}

export class ApiServer {
  private server: Server | undefined;
  private readonly routes: Route[] = [];
  private readonly authorize: BearerCheck;

  constructor(private readonly options: ApiServerOptions) {
    this.authorize = bearerCheck(options.config.authToken);
    this.route('GET', '/healthz', (_request, response) => sendJson(response, 200, { status: 'ok' }), {
      open: true,
    });
    this.route(
      'GET',
      '/readyz',
      (_request, response) => {
        const { ready, ...details } = options.readiness();
        sendJson(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...details });
      },
      { open: true },
    );
    this.route(
      'GET',
      '/metrics',
      async (_request, response) => {
        const text = await options.registry.metrics();
        response.writeHead(200, { 'Content-Type': options.registry.contentType });
        response.end(text);
      },
      { open: true },
    );
  }

  /** Adds a route; `:name` segments become params. Routes are behind the bearer token unless `open`. */
  route(method: string, path: string, handler: RouteHandler, { open = false } = {}): void {
    const paramNames: string[] = [];
    const source = path.replace(/:([a-zA-Z]+)/g, (_match, name: string) => {
      paramNames.push(name);
      return '([^/]+)';
    });
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), paramNames, handler, open });
  }

  async start(): Promise<number> {
    const server = createServer((request, response) => void this.serve(request, response));
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.config.port, this.options.config.host, () => resolve());
    });
    this.server = server;
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : this.options.config.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    const matching = this.routes.filter((route) => route.pattern.test(path));
    if (matching.length === 0)
      return sendJson(response, 404, { error: 'NOT_FOUND', message: `no route ${path}` });
    const route = matching.find((candidate) => candidate.method === request.method);
    if (!route) {
      response.setHeader('Allow', [...new Set(matching.map((candidate) => candidate.method))].join(', '));
      return sendJson(response, 405, {
        error: 'METHOD_NOT_ALLOWED',
        message: `${request.method} is not allowed on ${path}`,
      });
    }
    if (!route.open && !this.authorize(request.headers.authorization)) {
      response.setHeader('WWW-Authenticate', 'Bearer');
      return sendJson(response, 401, { error: 'UNAUTHENTICATED', message: 'missing or wrong bearer token' });
    }
    const match = route.pattern.exec(path);
    const params: Record<string, string> = {};
    route.paramNames.forEach((name, index) => (params[name] = decodeURIComponent(match?.[index + 1] ?? '')));
    try {
      await route.handler(request, response, params);
    } catch (error) {
      if (error instanceof ApiProblem) {
        const body: Record<string, unknown> = { error: error.code, message: error.message };
        if (error.problems.length > 0) body.problems = error.problems;
        if (!response.headersSent) sendJson(response, error.status, body);
        return;
      }
      this.options.logger.error({ err: error, path }, 'API handler failed');
      if (!response.headersSent) sendJson(response, 500, { error: 'INTERNAL', message: 'internal error' });
    }
  }
}
