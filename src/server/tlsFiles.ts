// TLS of the gRPC and admin listeners from files: certificate, key and (gRPC) the client CA. The files are
// read and checked as a set (a key that does not match its certificate is refused), and watched: when one
// changes (cert-manager rotates them in place) the set is re-read and, if it is good, new connections use it
// while open ones keep theirs, so no check fails during a rotation. A bad set keeps the last good one.
import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

/** TLS 1.0 and 1.1 are deprecated (RFC 8996); Envoy's upstream TLS defaults to 1.2 as well. */
export const MIN_TLS_VERSION = 'TLSv1.2' as const;

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile?: string | undefined;
  requireClientCert?: boolean | undefined;
}

/** A set of files that does not make a usable TLS context, naming the files (never their content). */
export class TlsFilesError extends Error {
  // serve.ts exits 2 for this code: files that make no TLS context are a configuration error
  readonly code = 'CONFIG_INVALID';
  constructor(listener: string, files: TlsFiles, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `${listener}.tls: cannot use certFile ${files.certFile} with keyFile ${files.keyFile}${files.clientCaFile === undefined ? '' : ` and clientCaFile ${files.clientCaFile}`}: ${reason}`,
      { cause },
    );
    this.name = 'TlsFilesError';
  }
}

/** Reads the files and proves they make a context; throws TlsFilesError otherwise. */
export async function readTlsFiles(listener: string, files: TlsFiles): Promise<SecureContextOptions> {
  try {
    const [cert, key, ca] = await Promise.all([
      readFile(files.certFile),
      readFile(files.keyFile),
      files.clientCaFile === undefined ? Promise.resolve(undefined) : readFile(files.clientCaFile),
    ]);
    const options: SecureContextOptions = {
      cert,
      key,
      minVersion: MIN_TLS_VERSION,
      ...(ca === undefined ? {} : { ca }),
    };
    // Throws for a broken PEM or a key that does not match the certificate, so a bad rotation is caught here.
    createSecureContext(options);
    return options;
  } catch (error) {
    throw new TlsFilesError(listener, files, error);
  }
}

/** What a TLS server needs besides the context: ask for client certificates, and whether one is required. */
export function clientCertOptions(files: TlsFiles): { requestCert: boolean; rejectUnauthorized: boolean } {
  return { requestCert: files.clientCaFile !== undefined, rejectUnauthorized: files.requireClientCert === true };
}

export interface TlsWatch {
  stop(): void;
}

/**
 * Polls the files' metadata (fs.watchFile follows symlinks, so the `..data` swap of a Kubernetes Secret volume
 * is seen) and calls `apply` with each good new set, `failed` with each bad one. Changes within `settleMs` are
 * read together: a certificate and its key are rarely written at the same instant.
 */
export function watchTlsFiles(
  listener: string,
  files: TlsFiles,
  handlers: { apply(options: SecureContextOptions): void; failed(error: TlsFilesError): void },
  timing: { intervalMs: number; settleMs: number } = { intervalMs: 1000, settleMs: 200 },
): TlsWatch {
  const paths = [files.certFile, files.keyFile, ...(files.clientCaFile === undefined ? [] : [files.clientCaFile])];
  let pending: NodeJS.Timeout | undefined;
  let stopped = false;
  const reload = (): void => {
    pending = undefined;
    readTlsFiles(listener, files).then(
      (options) => {
        if (!stopped) handlers.apply(options);
      },
      (error: unknown) => {
        if (!stopped) handlers.failed(error as TlsFilesError);
      },
    );
  };
  const changed = (
    current: { mtimeMs: number; ino: number; size: number },
    previous: { mtimeMs: number; ino: number; size: number },
  ): void => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
    if (pending !== undefined) clearTimeout(pending);
    pending = setTimeout(reload, timing.settleMs);
    pending.unref();
  };
  for (const path of paths) watchFile(path, { interval: timing.intervalMs, persistent: false }, changed);
  return {
    stop() {
      stopped = true;
      if (pending !== undefined) clearTimeout(pending);
      for (const path of paths) unwatchFile(path, changed);
    },
  };
}

/**
 * Keeps a listener's certificate current: each good new set goes to `target` (new connections use it, open ones
 * keep theirs), each bad one is logged and counted and changes nothing.
 */
export function reloadTlsOnChange(
  listener: 'grpc' | 'admin',
  files: TlsFiles,
  target: { setSecureContext(options: SecureContextOptions): void },
  deps: {
    logger: import('pino').Logger;
    count(listener: 'grpc' | 'admin', result: 'ok' | 'error'): void;
    intervalMs?: number | undefined;
  },
): TlsWatch {
  const interval = deps.intervalMs ?? 1000;
  return watchTlsFiles(
    listener,
    files,
    {
      apply(options) {
        target.setSecureContext(options);
        deps.count(listener, 'ok');
        deps.logger.info({ listener, certFile: files.certFile }, 'TLS certificate reloaded; new connections use it');
      },
      failed(error) {
        deps.count(listener, 'error');
        deps.logger.error({ listener, err: error }, 'TLS files not reloaded; the last good certificate stays in use');
      },
    },
    { intervalMs: interval, settleMs: Math.min(200, interval * 2) },
  );
}
