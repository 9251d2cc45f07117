// Percent-decoding as Go's net/url does it (OPA-Envoy builds its input with Go): every `%` must start a
// two-digit hex escape, and the decoded bytes are read as UTF-8 (a byte sequence that is not UTF-8
// becomes U+FFFD, as it does when Go's strings reach a policy as JSON).
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** `PathUnescape` (`+` stays `+`), or undefined when an escape is malformed. */
export function pathUnescape(text: string): string | undefined {
  return unescape(text, false);
}

/** `QueryUnescape` (`+` is a space), or undefined when an escape is malformed. */
export function queryUnescape(text: string): string | undefined {
  return unescape(text, true);
}

function unescape(text: string, plusIsSpace: boolean): string | undefined {
  if (!text.includes('%')) return plusIsSpace && text.includes('+') ? text.replaceAll('+', ' ') : text;
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0x25) {
      const hi = hexValue(raw[i + 1]);
      const lo = hexValue(raw[i + 2]);
      if (hi === undefined || lo === undefined) return undefined;
      bytes.push(hi * 16 + lo);
      i += 2;
    } else bytes.push(plusIsSpace && b === 0x2b ? 0x20 : b);
  }
  return utf8.decode(Uint8Array.from(bytes));
}

function hexValue(byte: number | undefined): number | undefined {
  if (byte === undefined) return undefined;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  return undefined;
}
