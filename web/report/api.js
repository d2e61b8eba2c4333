// @ts-check
// The report's only data source: the sidecar's own /api/v1, same origin. When the API needs a bearer token
// (api.authToken) the page asks for it once per tab (sessionStorage) and sends it as a header, never in a URL.

const TOKEN_KEY = 'canary-judge.apiToken';

export class Unauthorized extends Error {}

export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** @returns {string | null} */
export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** @param {string | null} value */
export function setToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lasts until the page is left
  }
}

/**
 * GET a JSON document from the API.
 * @param {string} path
 * @returns {Promise<any>}
 */
export async function getJson(path) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const response = await fetch(path, { headers, cache: 'no-store' });
  if (response.status === 401) throw new Unauthorized('the API needs its bearer token');
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.message ?? `HTTP ${response.status}`);
  return body;
}

/** @param {string} segment */
export const enc = (segment) => encodeURIComponent(segment);
