// The envelope the three OTLP export requests share (collector/<signal>/v1/*_service.proto and
// <signal>/v1/<signal>.proto): Export<Signal>ServiceRequest { repeated Resource<X> = 1 },
// Resource<X> { resource = 1, repeated Scope<X> = 2 }, Scope<X> { scope = 1, repeated <item> = 2 }.
// One walker for all three; each signal decodes only its items.
import type { ResourceInfo } from '../model.js';
import { decodeResource, decodeScopeName, emptyResource } from './resource.js';
import { enterMessage, leaveMessage, skipField, type WireContext } from './wire.js';

/** Message and field names, for error paths such as `ResourceSpans.scope_spans > ScopeSpans.spans`. */
export interface EnvelopeNames {
  request: string;
  resourceField: string;
  resourceMessage: string;
  scopeField: string;
  scopeMessage: string;
  itemField: string;
}

export interface EnvelopeHooks {
  /** Decodes one item (the reader is at its length prefix). */
  item(resource: ResourceInfo): void;
  /** Called before a scope's items... */
  scopeStart(): void;
  /** ...and after them, with the scope's name, which may follow its items on the wire. */
  scopeEnd(scopeName: string): void;
}

const LEN_FIELD_1 = 10; // (1 << 3) | 2
const LEN_FIELD_2 = 18; // (2 << 3) | 2

/** Walks a whole export request. */
export function walkEnvelope(ctx: WireContext, names: EnvelopeNames, hooks: EnvelopeHooks): void {
  const reader = ctx.reader;
  const resourcePath = `${names.request}.${names.resourceField}`;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === LEN_FIELD_1) {
      ctx.path.push(resourcePath);
      walkResource(ctx, names, hooks);
      ctx.path.pop();
    } else skipField(reader, tag);
  }
}

function walkResource(ctx: WireContext, names: EnvelopeNames, hooks: EnvelopeHooks): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  const resource = emptyResource();
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === LEN_FIELD_1) {
      ctx.path.push(`${names.resourceMessage}.resource`);
      decodeResource(ctx, resource);
      ctx.path.pop();
    } else if (tag === LEN_FIELD_2) {
      ctx.path.push(`${names.resourceMessage}.${names.scopeField}`);
      walkScope(ctx, names, hooks, resource);
      ctx.path.pop();
    } else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
}

function walkScope(
  ctx: WireContext,
  names: EnvelopeNames,
  hooks: EnvelopeHooks,
  resource: ResourceInfo,
): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  const itemPath = `${names.scopeMessage}.${names.itemField}`;
  let scopeName = '';
  hooks.scopeStart();
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === LEN_FIELD_2) {
      ctx.path.push(itemPath);
      hooks.item(resource);
      ctx.path.pop();
    } else if (tag === LEN_FIELD_1) {
      ctx.path.push(`${names.scopeMessage}.scope`);
      scopeName = decodeScopeName(ctx);
      ctx.path.pop();
    } else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  hooks.scopeEnd(scopeName);
}
