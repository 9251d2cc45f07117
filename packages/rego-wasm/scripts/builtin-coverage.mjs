// Prints how many of OPA's builtins the compiler accepts, against the committed list of OPA's names
// (opa-builtins.json), and every OPA builtin it refuses with the reason. Network builtins are counted apart:
// a sidecar policy never makes network calls.
import { readFileSync } from 'node:fs';
import { CATALOG, REFUSED, LANGUAGE_BUILTINS } from '../dist/builtins/catalog.js';

const opa = JSON.parse(readFileSync(new URL('../opa-builtins.json', import.meta.url), 'utf8'));
const network = new Set(opa.network);
const names = opa.builtins.map((b) => b.name).filter((n) => !network.has(n));
const supported = names.filter((n) => Object.hasOwn(CATALOG, n) || LANGUAGE_BUILTINS.includes(n));
const missing = names.filter((n) => !supported.includes(n));
const pct = ((100 * supported.length) / names.length).toFixed(1);
console.log(`OPA builtins (${opa.source}): ${opa.builtins.length}, of which network: ${network.size}`);
console.log(`compiled: ${supported.length} of ${names.length} non-network builtins (${pct}%)`);
console.log(`not compiled (${missing.length}):`);
for (const n of missing) console.log(`  ${n}: ${REFUSED[n] ?? 'unknown to the compiler'}`);
const extra = Object.keys(CATALOG).filter((n) => !opa.builtins.some((b) => b.name === n));
if (extra.length > 0) console.log(`compiled but not in OPA's list: ${extra.join(', ')}`);
