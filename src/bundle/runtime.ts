// The policy in force when it comes from a bundle server (policy.bundle). A loop asks for the bundle (see
// download.ts and schedule.ts for when); a new one is read, verified when verification is configured, and
// loaded like a bundle file (its Wasm as is, its Rego compiled in the isolated child) before one reference
// is swapped, so a check sees the old policy or the new one, never a mix. Anything that fails keeps the
// policy in force. Before the first activation there is no policy: checks are answered as a policy error
// (503, or gRPC UNKNOWN with policy.onError: error) and /readyz is 503, unless a persisted bundle was loaded.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { BundleError, bundleFromFiles, readBundleFiles } from '@portcullis/rego-wasm/bundle';
import type { BundleConfig } from '../config/bundle-schema.js';
import { MAX_POLICY_FILE_BYTES } from '../config/files.js';
import { policyFromSource, type LoadedPolicy, type PolicySettings } from '../policy/engine.js';
import { PolicyEvaluationError } from '../policy/errors.js';
import type { PolicyRuntime, PolicyRuntimeDeps } from '../policy/runtime.js';
import { serialReloads } from '../policy/serialReloads.js';
import { policySourceFromBundle } from '../policy/source.js';
import { watchPaths, type PolicyWatch } from '../policy/watch.js';
import { redactUrl } from '../telemetry/redact.js';
import { downloadBundle, type DownloadOutcome, type DownloadRequest } from './download.js';
import { BundleKeyError, loadVerificationSettings, type VerificationSettings } from './keys.js';
import { loadPersistedBundle, savePersistedBundle } from './persist.js';
import { pollDelayMs, retryDelayMs } from './schedule.js';
import { SIGNATURES_FILE, verifyBundleSignature } from './signature.js';

export type BundleFetchResult = 'ok' | 'not_modified' | 'error' | 'refused';

export interface BundleRuntimeDeps extends PolicyRuntimeDeps {
  countFetch(result: BundleFetchResult): void;
  /** unix seconds of the last answer that left a current bundle in force (200 activated, or 304) */
  setLastSuccess(unixSeconds: number): void;
  /** tests: the random source of the polling delays */
  random?: () => number;
  /** one request's time limit (default 30 s) */
  requestTimeoutMs?: number;
}

export interface BundleStatus {
  /** redacted */
  url: string;
  revision: string | null;
  etag: string | null;
  /** ISO times; null until it happens */
  lastRequest: string | null;
  lastSuccessfulRequest: string | null;
  lastSuccessfulDownload: string | null;
  lastSuccessfulActivation: string | null;
  lastError: { at: string; message: string } | null;
  consecutiveFailures: number;
  /** the persisted bundle was activated at start-up */
  loadedFromPersistDir: boolean;
  signed: boolean;
}

export interface BundleRuntime extends PolicyRuntime {
  status(): BundleStatus;
}

/** A bundle that was read but not activated (unreadable, unsigned, tampered, does not compile). */
export class BundleRefusedError extends Error {
  readonly code = 'BUNDLE_REFUSED';
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Reads the keys, TLS files and persisted bundle, then starts polling. Throws (start-up exits 2) only for
 * configuration that can never work: an unreadable key or TLS file.
 */
export async function createBundleRuntime(
  settings: PolicySettings,
  config: BundleConfig,
  deps: BundleRuntimeDeps,
): Promise<BundleRuntime> {
  const name = `bundle ${redactUrl(config.url)}`;
  const verification = config.verification === undefined ? null : await loadVerificationSettings(config.verification);
  await readTls(config); // fail start-up on a missing file; read again before each request (rotation)
  const random = deps.random ?? Math.random;
  const logger = deps.logger;

  let active: LoadedPolicy | null = null;
  let activeDigest: string | null = null;
  let activeArchive: Uint8Array | null = null;
  /** the last archive refused, so the same bytes fetched again are refused without compiling them again */
  let refused: { digest: string; reason: string } | null = null;
  let etag: string | null = null;
  let failures = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: AbortController | undefined;
  let dataWatch: PolicyWatch | undefined;
  const status: BundleStatus = {
    url: redactUrl(config.url),
    revision: null,
    etag: null,
    lastRequest: null,
    lastSuccessfulRequest: null,
    lastSuccessfulDownload: null,
    lastSuccessfulActivation: null,
    lastError: null,
    consecutiveFailures: 0,
    loadedFromPersistDir: false,
    signed: verification !== null,
  };

  const activate = async (archive: Uint8Array): Promise<LoadedPolicy> => {
    const policy = await loadArchive(name, archive, settings, verification, deps);
    active = policy;
    activeArchive = archive;
    activeDigest = digest(archive);
    deps.setRevision(policy.revision);
    status.revision = policy.revision;
    status.lastSuccessfulActivation = new Date().toISOString();
    return policy;
  };

  const recordFailure = (message: string): void => {
    failures += 1;
    status.consecutiveFailures = failures;
    status.lastError = { at: new Date().toISOString(), message };
  };

  const recordSuccess = (): void => {
    failures = 0;
    status.consecutiveFailures = 0;
    status.lastError = null;
    const now = new Date();
    status.lastSuccessfulRequest = now.toISOString();
    deps.setLastSuccess(now.getTime() / 1000);
  };

  if (config.persistDir !== undefined) {
    try {
      const persisted = await loadPersistedBundle(config.persistDir, config.url);
      if (persisted !== null) {
        const policy = await activate(persisted.archive);
        etag = persisted.etag;
        status.etag = etag;
        status.loadedFromPersistDir = true;
        deps.countReload('success');
        logger.info(
          { revision: policy.revision, savedAt: persisted.savedAt, persistDir: config.persistDir },
          'policy bundle loaded from persistDir; asking the bundle server for a newer one',
        );
      }
    } catch (error) {
      deps.countReload('error');
      logger.error(
        { err: error, persistDir: config.persistDir },
        'persisted policy bundle refused; waiting for the bundle server',
      );
    }
  }

  const pollOnce = async (): Promise<boolean> => {
    if (closed) return active !== null;
    status.lastRequest = new Date().toISOString();
    inFlight = new AbortController();
    let outcome: DownloadOutcome;
    try {
      outcome = await downloadBundle(await requestFor(config, etag, deps, inFlight.signal));
    } catch (error) {
      outcome = { kind: 'error', message: error instanceof Error ? error.message : String(error) };
    } finally {
      inFlight = undefined;
    }
    if (closed) return active !== null;
    if (outcome.kind === 'error') {
      deps.countFetch('error');
      recordFailure(outcome.message);
      logger.warn(
        { url: status.url, failures, revision: status.revision },
        `bundle request failed; keeping the policy in force: ${outcome.message}`,
      );
      return false;
    }
    if (outcome.kind === 'not_modified') {
      deps.countFetch('not_modified');
      if (active === null) {
        // A 304 with no bundle in force: the ETag sent was one whose bundle was refused. Ask again in full.
        etag = null;
        recordFailure('the bundle server answered 304 Not Modified, but no bundle is in force');
        return false;
      }
      recordSuccess();
      return true;
    }
    status.lastSuccessfulDownload = new Date().toISOString();
    const archiveDigest = digest(outcome.archive);
    if (archiveDigest === activeDigest) {
      // The same bytes (a server without ETags, or after an outage): nothing to activate.
      deps.countFetch('ok');
      etag = outcome.etag;
      status.etag = etag;
      recordSuccess();
      return true;
    }
    try {
      if (refused?.digest === archiveDigest) throw new BundleRefusedError(`the same bundle again: ${refused.reason}`);
      const policy = await activate(outcome.archive);
      refused = null;
      etag = outcome.etag;
      status.etag = etag;
      deps.countFetch('ok');
      deps.countReload('success');
      recordSuccess();
      logger.info({ revision: policy.revision, url: status.url, etag }, 'policy bundle activated');
      if (config.persistDir !== undefined) {
        await savePersistedBundle(config.persistDir, { archive: outcome.archive, etag, url: config.url }).catch(
          (error: unknown) =>
            logger.warn({ err: error, persistDir: config.persistDir }, 'cannot persist the policy bundle'),
        );
      }
      return true;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      refused = { digest: archiveDigest, reason };
      deps.countFetch('refused');
      deps.countReload('error');
      recordFailure(`bundle refused: ${reason}`);
      logger.error(
        { url: status.url, revision: status.revision, reason },
        'policy bundle refused; keeping the policy in force',
      );
      return false;
    }
  };

  const poll = serialReloads(pollOnce);

  const schedule = (ok: boolean): void => {
    if (closed) return;
    const { minSeconds, maxSeconds } = config.polling;
    const delay = ok ? pollDelayMs(minSeconds, maxSeconds, random) : retryDelayMs(failures - 1, maxSeconds, random);
    timer = setTimeout(() => void poll().then(schedule), delay);
    timer.unref();
  };
  timer = setTimeout(() => void poll().then(schedule), 0);
  timer.unref();

  /** policy.data changed: the bundle in force is loaded again with the new data. */
  const reloadData = serialReloads(async () => {
    if (activeArchive === null) return false;
    try {
      await activate(activeArchive);
      deps.countReload('success');
      logger.info({ revision: status.revision }, 'policy data reloaded');
      return true;
    } catch (error) {
      deps.countReload('error');
      logger.error({ err: error }, 'policy data reload failed; keeping the last good policy');
      return false;
    }
  });

  const placeholder: LoadedPolicy = {
    revision: 'none',
    kind: 'bundle',
    path: status.url,
    entrypoint: settings.entrypoint,
    entrypoints: [],
    loadedAt: new Date(0),
    evaluate() {
      throw new PolicyEvaluationError(
        `no policy bundle activated yet from ${status.url}${status.lastError === null ? '' : ` (last error: ${status.lastError.message})`}`,
      );
    },
  };

  return {
    current: () => active ?? placeholder,
    loaded: () => active,
    status: () => ({ ...status }),
    /** asks the bundle server now */
    reload: () => poll(),
    async watch({ debounceMs = 200, pollMs = 5000 } = {}) {
      if (settings.data === undefined) return;
      dataWatch?.close();
      dataWatch = await watchPaths([settings.data], () => void reloadData(), { debounceMs, pollMs });
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      inFlight?.abort();
      dataWatch?.close();
    },
  };
}

/** Read, verify, load: a policy, or a typed error saying why the bundle was refused. */
async function loadArchive(
  name: string,
  archive: Uint8Array,
  settings: PolicySettings,
  verification: VerificationSettings | null,
  deps: BundleRuntimeDeps,
): Promise<LoadedPolicy> {
  let files;
  try {
    files = await readBundleFiles(archive);
  } catch (error) {
    if (error instanceof BundleError) throw new BundleRefusedError(`not a readable bundle: ${error.message}`);
    throw error;
  }
  if (verification !== null) {
    const outcome = await verifyBundleSignature(files, verification);
    if (!outcome.ok) throw new BundleRefusedError(`signature check failed: ${outcome.reason}`);
  } else if (files.has(SIGNATURES_FILE)) {
    // As OPA: a signature nobody checks would look like protection; configure its key to use the bundle.
    throw new BundleRefusedError(
      `the bundle is signed (${SIGNATURES_FILE}) but policy.bundle.verification is not configured; configure its key`,
    );
  }
  let bundle;
  try {
    bundle = bundleFromFiles(files);
  } catch (error) {
    if (error instanceof BundleError) throw new BundleRefusedError(`not a valid bundle: ${error.message}`);
    throw error;
  }
  const source = await policySourceFromBundle(name, bundle, archive, [settings.entrypoint]);
  return policyFromSource(source, { ...settings, path: name }, deps.observeEvaluator);
}

async function requestFor(
  config: BundleConfig,
  etag: string | null,
  deps: BundleRuntimeDeps,
  signal: AbortSignal,
): Promise<DownloadRequest> {
  return {
    url: config.url,
    etag,
    headers: config.headers,
    bearerToken: config.bearerToken,
    tls: await readTls(config),
    timeoutMs: deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    maxBytes: MAX_POLICY_FILE_BYTES,
    signal,
  };
}

async function readTls(config: BundleConfig): Promise<DownloadRequest['tls']> {
  const tls = config.tls;
  if (tls === undefined) return undefined;
  const read = async (file: string | undefined, key: string): Promise<Buffer | undefined> => {
    if (file === undefined) return undefined;
    try {
      return await readFile(file);
    } catch (error) {
      throw new BundleKeyError(`policy.bundle.tls.${key} ${file}: ${(error as Error).message}`, { cause: error });
    }
  };
  const [ca, cert, key] = await Promise.all([
    read(tls.caFile, 'caFile'),
    read(tls.certFile, 'certFile'),
    read(tls.keyFile, 'keyFile'),
  ]);
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
}

const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
