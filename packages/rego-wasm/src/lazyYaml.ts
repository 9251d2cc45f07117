// YAML parsing for `data.yaml` files (in bundles and policy directories), with the parser loaded on the first
// one: reading JSON data (what `policy build` writes) never loads it, and a module once loaded stays for the
// life of the process. require, not import(): parsing is synchronous, and yaml's Node entry is CommonJS either
// way.
import { createRequire } from 'node:module';

let parse: ((text: string) => unknown) | undefined;

export function parseYaml(text: string): unknown {
  parse ??= (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse;
  return parse(text);
}
