import * as http from 'node:http';
import * as https from 'node:https';
import { errorMessage } from './errors';

/**
 * Tells a monitoring endpoint how a run went: an HTTP(S) POST of the JSON result, on success to the
 * URL, on failure to `URL/fail` where the URL is a Healthchecks ping URL (see `usesFailSuffix`), else
 * to the URL itself with `"ok": false` in the body. Never throws: the outcome says what happened, and
 * the caller logs it as a warning. The URL's path and query are treated as secret (a Healthchecks URL
 * is its token): logs and messages show only scheme and host.
 */
export interface NotifyOptions {
  /** Default 10 s, for connecting, sending and the answer together. */
  timeoutMs?: number;
  /** Send failures to `URL/fail`. Default: `usesFailSuffix(url)`. */
  failSuffix?: boolean;
  signal?: AbortSignal;
}

export interface NotifyOutcome {
  ok: boolean;
  /** scheme://host of the URL that was called, safe to log. */
  target: string;
  status?: number;
  /** One line, with nothing of the URL's path or query. */
  error?: string;
}

export const DEFAULT_NOTIFY_TIMEOUT_MS = 10_000;

/** scheme://host[:port]/… of a URL: what may appear in a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname !== '/' || u.search ? '/…' : ''}`;
  } catch {
    return '(an invalid URL)';
  }
}

/** Checks a notify URL (http or https, absolute); the message never repeats the URL. */
export function notifyUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'the notify URL is not a valid absolute URL (e.g. https://hc-ping.com/<uuid>)';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `the notify URL must start with http:// or https:// (got ${u.protocol})`;
  if (u.username || u.password) return 'the notify URL must not carry a user name or password; put the token in its path or query';
  return undefined;
}

/**
 * The documented rule: Healthchecks ping URLs get `/fail` for failures. Those are URLs on hc-ping.com
 * (or a subdomain) and self-hosted Healthchecks URLs, whose path starts with `/ping/`.
 */
export function usesFailSuffix(url: string): boolean {
  try {
    const u = new URL(url);
    return /(^|\.)hc-ping\.com$/i.test(u.hostname) || u.pathname.startsWith('/ping/');
  } catch {
    return false;
  }
}

/** `https://host/path?q` → `https://host/path/fail?q`. */
export function failUrl(url: string): string {
  const u = new URL(url);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/fail`;
  return u.toString();
}

/** Removes every trace of the URL's path and query from a message. */
function scrub(message: string, url: URL): string {
  let out = message;
  for (const secret of [url.href, url.pathname + url.search, url.pathname, url.search.slice(1)]) {
    if (secret.length > 1) out = out.split(secret).join('/…');
  }
  return out.replace(/\s+/g, ' ').trim();
}

function post(url: URL, body: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'pg-docker-backup' },
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${Math.round(timeoutMs / 100) / 10} s`)), timeoutMs);
    const onAbort = () => request.destroy(new Error('cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    request.on('response', (res) => {
      res.resume();
      res.on('end', () => {
        done();
        resolve(res.statusCode ?? 0);
      });
      res.on('error', (e) => {
        done();
        reject(e);
      });
    });
    request.on('error', (e) => {
      done();
      reject(e);
    });
    request.end(body);
  });
}

/** POSTs `result` (JSON) to the URL, or its failure URL when `result.ok` is false. */
export async function notify(url: string, result: { ok: boolean } & Record<string, unknown>, options: NotifyOptions = {}): Promise<NotifyOutcome> {
  const problem = notifyUrlProblem(url);
  const target = redactUrl(url);
  if (problem) return { ok: false, target, error: problem };
  const useFail = !result.ok && (options.failSuffix ?? usesFailSuffix(url));
  const to = new URL(useFail ? failUrl(url) : url);
  const timeoutMs = options.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS;
  try {
    const status = await post(to, JSON.stringify(result), timeoutMs, options.signal);
    if (status >= 200 && status < 300) return { ok: true, target, status };
    return { ok: false, target, status, error: `${target} answered HTTP ${status}` };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = scrub(errorMessage(e), to);
    return { ok: false, target, error: `${target}: ${code && !why.includes(code) ? `${code} ` : ''}${why}` };
  }
}
