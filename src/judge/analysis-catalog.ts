// Analysis definitions: the reusable spec (match, variant, arms, metrics, judge settings) that runs start from
// (ARCHITECTURE.md, Vocabulary). Definitions come from the config (synchronised at boot) or the API; they carry
// no evidence and no verdict. In memory, persisted through AnalysesRepository.
import { analysisSchema, type Analysis } from '../config/analysis.js';
import type { AnalysesRepository, AnalysisSource } from '../store/analyses-repository.js';
import { JudgeError } from './judge-error.js';

export interface AnalysisDefinition {
  spec: Analysis;
  source: AnalysisSource;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface CatalogSync {
  /** Config definitions removed since the last boot (their running runs must end). */
  removed: string[];
  /** Stored definitions that no longer parse (schema changed); dropped with a log line by the caller. */
  invalid: string[];
}

export class AnalysisCatalog {
  private readonly definitions = new Map<string, AnalysisDefinition>();

  constructor(
    private readonly repository: AnalysesRepository,
    private readonly maxAnalyses: number,
    private readonly clock: () => number,
  ) {}

  /**
   * Loads the stored definitions and brings the config's in line: config definitions are inserted or
   * replaced, config definitions no longer configured are removed; API definitions are kept.
   */
  sync(configAnalyses: readonly Analysis[]): CatalogSync {
    const result: CatalogSync = { removed: [], invalid: [] };
    for (const stored of this.repository.list()) {
      const parsed = analysisSchema.safeParse(JSON.parse(stored.specJson));
      if (!parsed.success) {
        this.repository.delete(stored.id);
        result.invalid.push(stored.id);
        continue;
      }
      this.definitions.set(stored.id, {
        spec: parsed.data,
        source: stored.source,
        createdAtMs: stored.createdAtMs,
        updatedAtMs: stored.updatedAtMs,
      });
    }
    const configured = new Set(configAnalyses.map((analysis) => analysis.id));
    for (const [id, definition] of this.definitions) {
      if (definition.source === 'config' && !configured.has(id)) {
        this.remove(id);
        result.removed.push(id);
      }
    }
    for (const analysis of configAnalyses) {
      const known = this.definitions.get(analysis.id);
      if (known?.source === 'config' && JSON.stringify(known.spec) === JSON.stringify(analysis)) continue;
      this.put(analysis, 'config', { replace: true, checkLimit: false });
    }
    return result;
  }

  get(id: string): AnalysisDefinition | undefined {
    return this.definitions.get(id);
  }

  list(): AnalysisDefinition[] {
    return [...this.definitions.values()];
  }

  get size(): number {
    return this.definitions.size;
  }

  /**
   * Creates a definition, or replaces one when `replace`. Runs already started keep the definition they
   * started with; the next run uses the new one. Returns whether it was created.
   */
  put(
    spec: Analysis,
    source: AnalysisSource,
    { replace, checkLimit = true }: { replace: boolean; checkLimit?: boolean },
  ): boolean {
    const known = this.definitions.get(spec.id);
    if (known && !replace) {
      throw new JudgeError('ANALYSIS_EXISTS', `analysis "${spec.id}" exists; PUT it to replace it`);
    }
    if (known && known.source === 'config' && source === 'api') {
      throw new JudgeError(
        'ANALYSIS_FROM_CONFIG',
        `analysis "${spec.id}" is defined in the config file; change it there`,
      );
    }
    if (!known && checkLimit && this.definitions.size >= this.maxAnalyses) {
      throw new JudgeError(
        'ANALYSIS_LIMIT_REACHED',
        `at most ${this.maxAnalyses} analyses may be defined (judge.maxAnalyses)`,
      );
    }
    const nowMs = this.clock();
    const definition: AnalysisDefinition = {
      spec,
      source,
      createdAtMs: known?.createdAtMs ?? nowMs,
      updatedAtMs: nowMs,
    };
    this.repository.upsert({
      id: spec.id,
      source,
      specJson: JSON.stringify(spec),
      createdAtMs: definition.createdAtMs,
      updatedAtMs: definition.updatedAtMs,
    });
    this.definitions.set(spec.id, definition);
    return known === undefined;
  }

  /** Removes a definition; returns whether it existed. Its runs are the caller's to end. */
  remove(id: string): boolean {
    this.repository.delete(id);
    return this.definitions.delete(id);
  }
}
