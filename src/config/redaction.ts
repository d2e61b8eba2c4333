// Secrets are write-only: the API never returns them and a validation message never echoes them. The
// webhook secret and the bearer tokens live in the config (or its environment overrides) and, for
// analyses created through the API, in the SQLite file (created with mode 0600; see store/database.ts).
import type { WebhookTarget } from './judge-settings.js';

/** A field whose value is a secret: webhook `secret`, `authToken`, any `password` or `token`. */
export function isSecretField(path: ReadonlyArray<PropertyKey>): boolean {
  const last = path[path.length - 1];
  return typeof last === 'string' && /secret|token|password/i.test(last);
}

/** How a validation message describes a secret it refuses: its length, never its characters. */
export function describeSecretValue(value: unknown): string {
  if (typeof value !== 'string') return value === undefined ? 'nothing' : `a ${typeof value}`;
  return `a value of ${value.length} character${value.length === 1 ? '' : 's'} (not shown)`;
}

/** The URL without a password in its user-info; the rest is the receiver's address and stays visible. */
export function withoutUrlPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Masks the password of every `scheme://user:password@` in free text (a value echoed by a validation message). */
export function maskUrlPasswords(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)[^\s/@]*@/gi, '$1***@');
}

export interface RedactedWebhookTarget {
  url: string;
  /** Always true: a target is only valid with a secret; the value itself is write-only. */
  secretSet: true;
}

/**
 * An analysis spec (or anything with an optional `webhook`) as the API may show it: the webhook secret
 * replaced by `secretSet: true` and a password in the URL masked. Other fields are returned as they are.
 */
export function withoutSecrets<T extends { webhook?: WebhookTarget | null }>(
  spec: T,
): Omit<T, 'webhook'> & { webhook?: RedactedWebhookTarget | null } {
  const { webhook, ...rest } = spec;
  if (!webhook) return webhook === undefined ? rest : { ...rest, webhook };
  return { ...rest, webhook: { url: withoutUrlPassword(webhook.url), secretSet: true } };
}
