// Reads a JSON request body with a size limit; every failure is an ApiProblem the router answers as is.
import type { IncomingMessage } from 'node:http';
import { jsonSyntaxProblem } from '../config/validation-messages.js';

/** An API error with a stable code and an HTTP status (the API's error catalogue is this type's uses). */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = 'ApiProblem';
  }
}

export const MAX_API_BODY_BYTES = 1024 * 1024;

export async function readJsonBody(request: IncomingMessage, limit = MAX_API_BODY_BYTES): Promise<unknown> {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ApiProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ApiProblem(413, 'BODY_TOO_LARGE', `body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // In our words, without quoting the body: it may hold a webhook secret.
    throw new ApiProblem(400, 'INVALID_JSON', `body is ${jsonSyntaxProblem(error, text)}`);
  }
}
