// Settings for sidecars started inside the test process (not as a child process).
//
// The test runner shares their event loop, and so do the other sidecars a test starts: the runner's own pauses
// (a GC, a synchronous assertion over a large document, another in-process sidecar's judge tick) must not make
// a sidecar shed export requests as "saturated" (otlp.maxEventLoopDelayMs). Tests of that shedding set it
// themselves; the attack tests run the CLI in a child process with the default (test/support/child-sidecar.ts).
export const IN_PROCESS_OTLP = { maxEventLoopDelayMs: 0 } as const;
