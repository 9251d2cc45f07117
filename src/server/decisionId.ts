// A check's decision id: a random (version 4) UUID, as crypto.randomUUID makes it, from the same kind of pool of
// random bytes refilled 128 ids at a time. randomUUID builds its text by adding the hex pairs one to another:
// the id is a chain of 16 concatenated strings (about 0.5 KB) that every check holds from its start to its
// answer, and that each young-generation collection under load copies for every check in flight. Written into
// a small buffer and read back in one call, it is one flat 36-character string.
import { randomFillSync } from 'node:crypto';

const IDS_PER_FILL = 128;
const pool = Buffer.allocUnsafeSlow(16 * IDS_PER_FILL);
let nextId = IDS_PER_FILL;

/** `xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx` as ASCII bytes */
const text = Buffer.allocUnsafeSlow(36) as Buffer & { latin1Slice(start: number, end: number): string };
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;

export function newDecisionId(): string {
  if (nextId === IDS_PER_FILL) {
    randomFillSync(pool);
    nextId = 0;
  }
  const at = nextId++ * 16;
  // RFC 9562: version 4 in the high nibble of byte 6, variant 10 in the two high bits of byte 8
  pool[at + 6] = (pool[at + 6]! & 0x0f) | 0x40;
  pool[at + 8] = (pool[at + 8]! & 0x3f) | 0x80;
  let out = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[out++] = DASH;
    const byte = pool[at + i]!;
    text[out++] = HEX[byte >> 4]!;
    text[out++] = HEX[byte & 0x0f]!;
  }
  return text.latin1Slice(0, 36);
}
