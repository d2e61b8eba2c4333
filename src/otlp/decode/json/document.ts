// Shared by the three OTLP/JSON decoders: parsing the document (UTF-8 checked), turning failures into
// OtlpDecodeError, and the Resource / InstrumentationScope objects above the items.
import type { ResourceInfo } from '../../model.js';
import { MalformedPayload, OtlpDecodeError, describeFailure, type OtlpSignal } from '../errors.js';
import { serviceNameOf } from '../resource.js';
import { jsonAttributes } from './any-value.js';
import { asObject, asString, field, type JsonObject, type JsonPath } from './values.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses an OTLP/JSON body and runs `decode` on its root object; whatever goes wrong leaves as an
 * OtlpDecodeError. An empty body is an empty request (OTLP spec: an empty request is a success).
 */
export function decodeJsonDocument<T>(
  signal: OtlpSignal,
  input: string | Uint8Array,
  decode: (root: JsonObject) => T,
): T {
  let text: string;
  try {
    text = typeof input === 'string' ? input : UTF8.decode(input);
  } catch {
    throw new OtlpDecodeError(signal, 'invalid UTF-8 in JSON body', '');
  }
  let document: unknown;
  if (text.trim() === '') document = {};
  else {
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new OtlpDecodeError(
        signal,
        `invalid JSON (${error instanceof Error ? error.message : 'parse error'})`,
        '',
      );
    }
  }
  try {
    const root = asObject(document, '$') ?? {};
    return decode(root);
  } catch (error) {
    throw new OtlpDecodeError(signal, describeFailure(error), '');
  }
}

/** `{ "resource": { "attributes": [...] } }` to a ResourceInfo shared by the items under it. */
export function jsonResource(container: JsonObject, path: JsonPath): ResourceInfo {
  const resource = asObject(container.resource, `${path}.resource`);
  const attributes =
    resource === undefined ? {} : jsonAttributes(resource.attributes, `${path}.resource.attributes`);
  return { serviceName: serviceNameOf(attributes), attributes };
}

export function jsonScopeName(container: JsonObject, path: JsonPath): string {
  const scope = asObject(container.scope, `${path}.scope`);
  return scope === undefined ? '' : asString(scope.name, `${path}.scope.name`);
}

/** Iterates the objects of a repeated message field, skipping nulls. */
export function eachObject(
  container: JsonObject,
  camel: string,
  snake: string,
  path: JsonPath,
  visit: (item: JsonObject, itemPath: JsonPath) => void,
): void {
  const value = field(container, camel, snake);
  if (value === undefined || value === null) return;
  if (!Array.isArray(value))
    throw new MalformedPayload(`${path}.${camel}: expected an array, found ${typeof value}`);
  for (let i = 0; i < value.length; i++) {
    const itemPath = `${path}.${camel}[${i}]`;
    const item = asObject(value[i], itemPath);
    if (item !== undefined) visit(item, itemPath);
  }
}
