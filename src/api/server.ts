// The HTTP API port (8686 by default): health, readiness and Prometheus metrics here; the analysis and
// Flagger routes (analyses-routes.ts, flagger-routes.ts) add theirs through `route()`. Plain node:http
// keeps the routes, limits and errors explicit; the API is small enough not to need a framework.
//
// Nothing a client sends may end the process: the request target is parsed defensively (a malformed
// percent-escape in a path parameter is a 400, not an uncaught URIError), the query is parsed with
// URLSearchParams (which never throws), and every handler failure, thrown or rejected, becomes an answer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ApiConfig } from '../config/schema.js';
import { bearerCheck, type BearerCheck } from '../otlp/auth.js';
import { renderMetrics } from '../publish/metrics-exposition.js';
import { ApiProblem } from './request-body.js';

export type RouteHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  params: Record<string, string>,
  query: URLSearchParams,
) => Promise<void> | void;

/** Longest request target (path and query) the API reads; longer ones are answered 414. */
export const MAX_API_TARGET_CHARS = 4096;

/** The path and query of a request target, or why it cannot be read. */
export function parseRequestTarget(
  url: string | undefined,
): { path: string; query: URLSearchParams } | { problem: ApiProblem } {
  const target = url ?? '/';
  if (target.length > MAX_API_TARGET_CHARS) {
    return {
      problem: new ApiProblem(
        414,
        'URI_TOO_LONG',
        `request target of ${target.length} characters exceeds the limit of ${MAX_API_TARGET_CHARS}`,
      ),
    };
  }
  const withoutFragment = target.split('#', 1)[0];
  const queryAt = withoutFragment.indexOf('?');
  const path = queryAt < 0 ? withoutFragment : withoutFragment.slice(0, queryAt);
  const query = new URLSearchParams(queryAt < 0 ? '' : withoutFragment.slice(queryAt + 1));
  return { path, query };
}

/** decodeURIComponent that answers 400 instead of throwing URIError on a malformed escape. */
export function decodePathSegment(segment: string, name: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiProblem(
      400,
      'BAD_PATH',
      `path parameter "${name}" is not valid percent-encoded UTF-8 (for example %E0%A4%A is cut short)`,
    );
  }
}

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
      async (_request, response, _params, query) => {
        // ?name[]=<name>&name[]=...: only those families or samples (metrics-exposition.ts). Blank values are
        // dropped, as client_python's parse_qs drops them (keep_blank_values=False): `?name[]=` is the whole text.
        const names = query.getAll('name[]').filter((name) => name !== '');
        const text = await renderMetrics(options.registry, names.length > 0 ? new Set(names) : undefined);
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
    const server = createServer((request, response) => {
      // serve() answers every failure itself; this catch is the last line, so nothing reaches the process.
      this.serve(request, response).catch((error: unknown) => this.fail(response, error, request.url));
    });
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
    const target = parseRequestTarget(request.url);
    if ('problem' in target) return this.answerProblem(response, target.problem);
    const { path, query } = target;
    const matching = this.routes.filter((route) => route.pattern.test(path));
    if (matching.length === 0)
      return sendJson(response, 404, { error: 'NOT_FOUND', message: `no route ${shorten(path)}` });
    const route = matching.find((candidate) => candidate.method === request.method);
    if (!route) {
      response.setHeader('Allow', [...new Set(matching.map((candidate) => candidate.method))].join(', '));
      return sendJson(response, 405, {
        error: 'METHOD_NOT_ALLOWED',
        message: `${request.method} is not allowed on ${shorten(path)}`,
      });
    }
    const authorization = request.headers.authorization;
    if (!route.open && !this.authorize(typeof authorization === 'string' ? authorization : undefined)) {
      response.setHeader('WWW-Authenticate', 'Bearer');
      return sendJson(response, 401, { error: 'UNAUTHENTICATED', message: 'missing or wrong bearer token' });
    }
    try {
      const match = route.pattern.exec(path);
      const params: Record<string, string> = {};
      route.paramNames.forEach((name, index) => {
        params[name] = decodePathSegment(match?.[index + 1] ?? '', name);
      });
      await route.handler(request, response, params, query);
    } catch (error) {
      this.fail(response, error, path);
    }
  }

  /** Answers a handler failure: an ApiProblem as itself, anything else as a logged 500. */
  private fail(response: ServerResponse, error: unknown, path: string | undefined): void {
    if (error instanceof ApiProblem) return this.answerProblem(response, error);
    this.options.logger.error({ err: error, path: shorten(path ?? '') }, 'API handler failed');
    if (!response.headersSent && !response.destroyed)
      sendJson(response, 500, { error: 'INTERNAL', message: 'internal error' });
  }

  private answerProblem(response: ServerResponse, problem: ApiProblem): void {
    const body: Record<string, unknown> = { error: problem.code, message: problem.message };
    if (problem.problems.length > 0) body.problems = problem.problems;
    if (!response.headersSent && !response.destroyed) sendJson(response, problem.status, body);
  }
}

/** A path quoted in an answer or a log line, cut short so a hostile one cannot bloat either. */
function shorten(text: string): string {
  return text.length > 128 ? `${text.slice(0, 128)}...` : text;
}
