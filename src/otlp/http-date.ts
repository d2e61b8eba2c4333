// The Date header of the receiver's answers, from a text kept per second. Node's own (lib/internal/http.js
// utcDate) keeps its text with a timer that falls due at the next second, so a sidecar answering an export
// every ~100 ms woke once a second just to forget it (docs/performance-notes.md, footprint). Here the
// answer that finds the second changed writes it again: no timer.

let second = Number.NaN;
let text = '';

/** The IMF-fixdate (RFC 9110, 5.6.7) of the second `nowMs` falls in. */
export function httpDate(nowMs: number = Date.now()): string {
  const at = Math.floor(nowMs / 1000);
  if (at !== second) {
    second = at;
    text = new Date(at * 1000).toUTCString();
  }
  return text;
}
