#!/usr/bin/env node
// canary-judge webhook receiver for OpenFeature flagd: on a verdict that says roll back, rewrite the flagd
// flag file so the flag serves the baseline variant to everyone (defaultVariant = baseline, targeting
// removed). flagd watches the file and reloads it, so every OpenFeature client sees the rollback within
// seconds, with no deploy. Plain Node 20, no dependencies: `node flagd-flag-updater.mjs`.
//
// Environment:
//   WEBHOOK_SECRET     the analysis's webhook secret (required)
//   FLAGD_FLAG_FILE    path of the flagd JSON flag file, e.g. the file flagd runs with --uri file:... (required)
//   FLAG_KEY           the flag under canary (required)
//   BASELINE_VARIANT   the variant to fall back to, a key of the flag's `variants` (required)
//   ANALYSIS_ID        act only on events whose CloudEvents `subject` is this analysis (optional)
//   HOST, PORT         listen address (default 0.0.0.0:8088; PORT=0 picks a free port)
//
// Answers: 200 applied / ignored / duplicate; 401 bad signature and 400 bad request (canary-judge gives
// up: retrying cannot help); 500 when the flag file cannot be rewritten (canary-judge retries).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';

const config = {
  secret: required('WEBHOOK_SECRET'),
  flagFile: required('FLAGD_FLAG_FILE'),
  flagKey: required('FLAG_KEY'),
  baselineVariant: required('BASELINE_VARIANT'),
  analysisId: process.env.ANALYSIS_ID || undefined,
  host: process.env.HOST || '0.0.0.0',
  port: Number(process.env.PORT ?? 8088),
};
const TOLERANCE_SECONDS = 300;
const MAX_BODY_BYTES = 1024 * 1024;
/** Ids of events already applied: canary-judge delivers at least once, so duplicates are expected. */
const seen = new Set();
/** One rewrite at a time, so two events cannot interleave read-modify-write of the file. */
let writes = Promise.resolve();

function required(name) {
  const value = process.env[name];
  if (!value) {
    log('error', `${name} is required`);
    process.exit(2);
  }
  return value;
}

function log(level, msg, fields = {}) {
  process.stdout.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

/** X-Canary-Judge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">. */
function verifySignature(secret, rawBody, header) {
  const parts = Object.fromEntries(
    String(header ?? '')
      .split(',')
      .map((part) => part.trim().split('=', 2)),
  );
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/i.test(parts.v1 ?? '')) return 'malformed signature';
  if (Math.abs(Date.now() / 1000 - t) > TOLERANCE_SECONDS) return 'stale signature timestamp';
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(parts.v1, 'hex')) ? undefined : 'signature mismatch';
}

/** Points the flag at the baseline for everyone; other flags and fields are left exactly as they were. */
async function rollBack(eventId) {
  const document = JSON.parse(await readFile(config.flagFile, 'utf8'));
  const flag = document.flags?.[config.flagKey];
  if (!flag) throw new Error(`flag ${config.flagKey} not found in ${config.flagFile}`);
  if (!flag.variants || !(config.baselineVariant in flag.variants)) {
    throw new Error(`variant ${config.baselineVariant} is not a variant of flag ${config.flagKey}`);
  }
  const previous = { defaultVariant: flag.defaultVariant, targeting: flag.targeting };
  flag.defaultVariant = config.baselineVariant;
  delete flag.targeting; // no targeting: flagd serves defaultVariant to every evaluation
  // Write a sibling file and rename it over the old one: flagd never reads a half-written file.
  const temp = `${config.flagFile}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, `${JSON.stringify(document, null, 2)}\n`);
  await rename(temp, config.flagFile);
  log('info', 'flag rolled back to baseline', { eventId, flag: config.flagKey, previous });
}

async function handle(req, res) {
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method !== 'POST') return reply(405, { error: 'POST only' });
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return reply(413, { error: 'body too large' });
    chunks.push(chunk);
  }
  const rawBody = Buffer.concat(chunks);
  // Verify the raw bytes before parsing: re-serialised JSON would not match the signature.
  const invalid = verifySignature(config.secret, rawBody, req.headers['x-canary-judge-signature']);
  if (invalid) {
    log('warn', 'rejected webhook', { reason: invalid });
    return reply(401, { error: invalid });
  }
  let event;
  try {
    event = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return reply(400, { error: 'body is not JSON' });
  }
  if (event.type !== 'dev.canary-judge.verdict.changed')
    return reply(200, { applied: 'none', why: 'other type' });
  if (config.analysisId && event.subject !== config.analysisId) {
    return reply(200, { applied: 'none', why: 'other analysis' });
  }
  if (seen.has(event.id)) return reply(200, { applied: 'none', why: 'duplicate', id: event.id });
  const rollback = event.data?.verdict === 'fail' || event.data?.action === 'rollback';
  if (!rollback) {
    log('info', 'verdict needs no flag change', { eventId: event.id, verdict: event.data?.verdict });
    return reply(200, { applied: 'none', verdict: event.data?.verdict });
  }
  const done = writes.then(() => rollBack(event.id));
  writes = done.catch(() => undefined);
  try {
    await done;
  } catch (error) {
    log('error', 'flag rollback failed; canary-judge will retry', {
      eventId: event.id,
      error: String(error),
    });
    return reply(500, { error: 'flag file not updated', detail: String(error) });
  }
  seen.add(event.id);
  if (seen.size > 10_000) seen.delete(seen.values().next().value);
  return reply(200, { applied: 'rollback', flag: config.flagKey, variant: config.baselineVariant });
}

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    log('error', 'request failed', { error: String(error) });
    if (!res.headersSent) res.writeHead(500).end();
  });
});
server.listen(config.port, config.host, () => {
  const { address, port } = server.address();
  log('info', 'listening', {
    url: `http://${address}:${port}/`,
    flagFile: config.flagFile,
    flag: config.flagKey,
  });
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
