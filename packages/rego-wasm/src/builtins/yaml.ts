// yaml.*: as OPA (sigs.k8s.io/yaml over YAML 1.1): unmarshal yields JSON values, marshal writes block
// style with sorted keys and sequences at the key's indentation.
import { parseDocument, stringify } from 'yaml';
import { BuiltinArgError, str } from './args.js';
import { toPlainJson } from './values.js';

function parseYaml(text: string): unknown {
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: true });
  if (doc.errors.length > 0) throw new BuiltinArgError('yaml.unmarshal', doc.errors[0]!.message);
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

export const yamlBuiltins = {
  'yaml.unmarshal': (s: unknown) => {
    const v = parseYaml(str('yaml.unmarshal', s));
    // Only JSON values reach the policy (no dates, no binary): a round trip through JSON says so.
    return v === undefined ? null : (JSON.parse(JSON.stringify(v)) as unknown);
  },
  'yaml.is_valid': (s: unknown) => {
    if (typeof s !== 'string') return false;
    try {
      parseYaml(s);
      return true;
    } catch {
      return false;
    }
  },
  'yaml.marshal': (v: unknown) =>
    stringify(toPlainJson(v), { sortMapEntries: true, indentSeq: false, lineWidth: 0, version: '1.1' }),
};
