/** Start-up configuration problem; the CLI prints `message` and exits 2. */
export class ConfigError extends Error {
  readonly code: 'CONFIG_READ' | 'CONFIG_YAML' | 'CONFIG_INVALID' | 'CONFIG_ENV';
  constructor(
    code: ConfigError['code'],
    message: string,
    readonly file: string | null,
    readonly issues: ConfigIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.name = 'ConfigError';
  }
}

export interface ConfigIssue {
  /** `redis.commandTimeoutMs`, `rateLimits[0].limit` */
  keyPath: string;
  message: string;
  line: number | null;
}
