/** The small logger interface core/ writes to; the extension backs it with a LogOutputChannel. */
export interface Logger {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

const REDACTED = '***';
const SECRET_ENV = /^(PGPASSWORD|POSTGRES_PASSWORD|[A-Z0-9_]*(PASSWORD|PASSPHRASE|SECRET|TOKEN|_KEY))=/i;

/** Replaces every occurrence of each secret (and NAME=value env entries that look secret) by ***. */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length > 0) out = out.split(s).join(REDACTED);
  }
  return out;
}

/** Renders an env array for a log line with the values of secret-looking names hidden. */
export function redactEnv(env: readonly string[]): string[] {
  return env.map((e) => (SECRET_ENV.test(e) ? `${e.slice(0, e.indexOf('='))}=${REDACTED}` : e));
}

/** Renders an argv for a log line: each element quoted when it needs to be, secrets hidden. */
export function formatArgv(argv: readonly string[], secrets: readonly (string | undefined)[] = []): string {
  return argv
    .map((a) => redact(a, secrets))
    .map((a) => (/^[\w@%+=:,./-]+$/u.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** A logger that redacts the given secrets from every message before passing it on. */
export function redactingLogger(inner: Logger, secrets: () => readonly (string | undefined)[]): Logger {
  const wrap = (fn: (m: string) => void) => (m: string) => fn(redact(m, secrets()));
  return {
    trace: wrap((m) => inner.trace(m)),
    debug: wrap((m) => inner.debug(m)),
    info: wrap((m) => inner.info(m)),
    warn: wrap((m) => inner.warn(m)),
    error: wrap((m) => inner.error(m)),
  };
}
