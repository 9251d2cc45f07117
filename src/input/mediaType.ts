// `type/subtype; name=value; name="quoted \" value"` (Content-Type, Content-Disposition), read as Go's
// mime.ParseMediaType reads it: type and parameter names lower-cased, values as tokens or quoted strings.
// Undefined when the header is malformed.
export interface MediaType {
  type: string;
  params: Map<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

export function mediaTypeParameters(header: string): MediaType | undefined {
  const semi = header.indexOf(';');
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+(\/[!#$%&'*+\-.^_`|~0-9a-z]+)?$/.test(type)) return undefined;
  const params = new Map<string, string>();
  let rest = semi === -1 ? '' : header.slice(semi);
  for (;;) {
    rest = rest.trimStart();
    if (rest === '') return { type, params };
    if (!rest.startsWith(';')) return undefined;
    rest = rest.slice(1).trimStart();
    if (rest === '') return { type, params }; // a trailing `;` is tolerated
    const name = TOKEN.exec(rest)?.[0];
    if (name === undefined) return undefined;
    rest = rest.slice(name.length).trimStart();
    if (!rest.startsWith('=')) return undefined;
    rest = rest.slice(1).trimStart();
    const value = readValue(rest);
    if (value === undefined) return undefined;
    rest = rest.slice(value.consumed);
    const key = name.toLowerCase();
    if (params.has(key)) return undefined;
    params.set(key, value.text);
  }
}

function readValue(text: string): { text: string; consumed: number } | undefined {
  if (!text.startsWith('"')) {
    const token = TOKEN.exec(text)?.[0];
    return token === undefined ? undefined : { text: token, consumed: token.length };
  }
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') return { text: out, consumed: i + 1 };
    if (c === '\\' && i + 1 < text.length) {
      out += text[++i];
      continue;
    }
    out += c;
  }
  return undefined;
}
