// Which routed analyses a span can concern, found by lookups instead of a pass over every analysis
// (issue 13: with 1 000 analyses, testing each span against each one made a 512-span export 18x slower).
// Built once per change of the routed set, read per resource and per span:
// - judging: the analyses that judge spans, by match.service (or none) and then by span kind (or any), so a
//   span is tested only against the analyses of its own service and kind;
// - learning: the analyses whose variant comes from a flag, by flag key (only spans carrying an evaluation
//   of that flag can teach them), and those whose variant is a span attribute, by attribute key.
// Every candidate is still tested in full (matchesSpan, learnedFromSpan): the index only skips analyses
// that cannot match, so attribution is the same as with a pass over all of them.
import type { AnalysisState } from './analysis-state.js';

/** OTLP SpanKind numbers 0..5 (unspecified to consumer). */
const SPAN_KINDS = 6;

export type StatesByKind = readonly (readonly AnalysisState[])[];

export class RoutingIndex {
  /** Span-judging analyses with a match.service, by service name, then by span kind. */
  private readonly judgesByService = new Map<string, AnalysisState[][]>();
  /** Span-judging analyses for any service, by span kind. */
  readonly judgesAnyService: StatesByKind;
  readonly learnersByFlag = new Map<string, AnalysisState[]>();
  readonly learnersByAttribute = new Map<string, AnalysisState[]>();

  constructor(states: readonly AnalysisState[]) {
    const anyService = byKind();
    for (const state of states) {
      const { rule } = state;
      const { flag, attribute } = rule.analysis.variant;
      if (flag !== undefined) push(this.learnersByFlag, flag, state);
      else if (attribute !== undefined) push(this.learnersByAttribute, attribute, state);
      if (rule.judges !== 'spans') continue;
      const service = rule.analysis.match.service;
      let lists = anyService;
      if (service !== undefined) {
        lists = this.judgesByService.get(service) ?? byKind();
        this.judgesByService.set(service, lists);
      }
      if (rule.spanKind === undefined) for (const list of lists) list.push(state);
      else lists[rule.spanKind].push(state);
    }
    this.judgesAnyService = anyService;
  }

  /** The span-judging analyses of `serviceName` (by span kind), beside judgesAnyService. */
  judgesOfService(serviceName: string): StatesByKind | undefined {
    return this.judgesByService.get(serviceName);
  }
}

function byKind(): AnalysisState[][] {
  return Array.from({ length: SPAN_KINDS }, () => []);
}

function push(map: Map<string, AnalysisState[]>, key: string, state: AnalysisState): void {
  const list = map.get(key);
  if (list) list.push(state);
  else map.set(key, [state]);
}
