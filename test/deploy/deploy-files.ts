// Reading deploy/ files for the deploy tests: paths relative to the repository root, YAML streams parsed
// strictly (a syntax error or warning in any document fails the test that reads it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';

export const ROOT = join(import.meta.dirname, '..', '..');

export function readText(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

export function parseYamlDocuments(path: string): unknown[] {
  const documents = YAML.parseAllDocuments(readText(path), { prettyErrors: true });
  return documents.map((document) => {
    const problems = [...document.errors, ...document.warnings];
    if (problems.length > 0) throw new Error(`${path}: ${problems.map((p) => p.message).join('; ')}`);
    return document.toJS() as unknown;
  });
}

/** Reads a nested value by keys and array indexes; undefined as soon as a step is missing. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** The documents of a multi-document manifest, by `kind`. */
export function byKind(documents: unknown[], kind: string): unknown[] {
  return documents.filter((document) => at(document, 'kind') === kind);
}
