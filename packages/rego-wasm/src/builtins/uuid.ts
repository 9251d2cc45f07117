// uuid.parse and uuid.rfc4122.
import { randomUUID } from 'node:crypto';
import { BuiltinArgError, str } from './args.js';

export const uuidBuiltins = {
  'uuid.parse': (s: unknown) => {
    const text = str('uuid.parse', s).toLowerCase();
    const m = /^(?:urn:uuid:)?\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/.exec(
      text,
    );
    if (!m) throw new BuiltinArgError('uuid.parse', `not a UUID: ${JSON.stringify(s)}`);
    const hex = m.slice(1).join('');
    const version = parseInt(hex[12]!, 16);
    const variantBits = parseInt(hex[16]!, 16);
    const variant =
      (variantBits & 0x8) === 0
        ? 'Reserved, NCS backward compatibility'
        : (variantBits & 0xc) === 0x8
          ? 'RFC4122'
          : (variantBits & 0xe) === 0xc
            ? 'Reserved, Microsoft backward compatibility'
            : 'Reserved, future definition';
    return { version, variant };
  },
  'uuid.rfc4122': (_seed: unknown) => randomUUID(),
};
