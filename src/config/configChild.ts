// The child process of loadConfigInChild (loadInChild.ts): loads the configuration exactly as loadConfig does
// in-process (the file named on the command line, else $PORTCULLIS_CONFIG, else the embedded defaults), sends
// back the validated Config or the error to report, and exits. Its YAML parser, zod and the schema go with it.
import { ConfigError } from './errors.js';
import { loadConfig, type LoadedConfig } from './load.js';

/** The child's one message to its parent. */
export type ConfigChildReply =
  | { ok: true; loaded: LoadedConfig }
  | {
      ok: false;
      error:
        | {
            kind: 'config';
            code: ConfigError['code'];
            message: string;
            file: string | null;
            issues: ConfigError['issues'];
          }
        | { kind: 'other'; name: string; message: string; code: string | undefined };
    };

function replyOf(error: unknown): ConfigChildReply {
  if (error instanceof ConfigError) {
    const { code, message, file, issues } = error;
    return { ok: false, error: { kind: 'config', code, message, file, issues } };
  }
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  return error instanceof Error
    ? { ok: false, error: { kind: 'other', name: error.name, message: error.message, code } }
    : { ok: false, error: { kind: 'other', name: 'Error', message: String(error), code } };
}

const file = process.argv[2];
let reply: ConfigChildReply;
try {
  reply = { ok: true, loaded: await loadConfig({ file }) };
} catch (error) {
  reply = replyOf(error);
}
// Disconnecting once the message is out lets the child exit on its own.
process.send?.(reply, () => process.disconnect());
