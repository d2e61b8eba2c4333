// The verdict-change event in CloudEvents 1.0 structured content mode: the whole event (context attributes
// and data) is one JSON document sent with `Content-Type: application/cloudevents+json`, so a receiver
// needs no CloudEvents SDK to read it (CloudEvents 1.0 spec §3.1 "Structured Content Mode"; JSON event
// format §3, HTTP protocol binding §3.2).
import { hostname } from 'node:os';

/** Reverse-DNS type, per the spec's recommendation that `type` be prefixed with a reverse-DNS name (§3.1.1). */
export const VERDICT_CHANGED_TYPE = 'dev.canary-judge.verdict.changed';

/** Media type of a structured-mode JSON event (JSON event format §3). */
export const CLOUDEVENTS_JSON_CONTENT_TYPE = 'application/cloudevents+json';

/**
 * The event's `data`: the judge's verdict document, any JSON-serialisable object, sent as is (the outbox
 * never looks inside). `object` rather than a record type so interfaces such as the judge's fit.
 */
export type VerdictEventData = object;

export interface VerdictEvent {
  specversion: '1.0';
  type: typeof VERDICT_CHANGED_TYPE;
  /** URI-reference naming this producer; `source` + `id` is unique per event (spec §3.1.1). */
  source: string;
  /** Stable for the event's whole life: receivers dedupe on it (at-least-once delivery). */
  id: string;
  /** RFC 3339 timestamp of the verdict change (not of the delivery attempt). */
  time: string;
  /** The analysis id, so a receiver can route without parsing `data`. */
  subject: string;
  datacontenttype: 'application/json';
  data: VerdictEventData;
}

export interface VerdictEventInput {
  analysisId: string;
  data: VerdictEventData;
  source: string;
  time: Date;
  id: string;
}

export function buildVerdictEvent(input: VerdictEventInput): VerdictEvent {
  if (Number.isNaN(input.time.getTime())) throw new RangeError('verdict event time is not a valid date');
  return {
    specversion: '1.0',
    type: VERDICT_CHANGED_TYPE,
    source: input.source,
    id: input.id,
    time: input.time.toISOString(),
    subject: input.analysisId,
    datacontenttype: 'application/json',
    data: input.data,
  };
}

/**
 * `/canary-judge/<instance>`: a relative URI-reference (allowed for `source`, spec §3.1.1) naming this
 * sidecar; the instance defaults to the host name (the pod name under Kubernetes).
 */
export function defaultEventSource(instance: string = hostname()): string {
  return `/canary-judge/${encodeURIComponent(instance)}`;
}
