import type { ContainerDetails, DockerClient } from '../docker/client';
import { errorMessage } from '../errors';
import type { CheckResult } from './checkTypes';

/** The label listing an app's health URLs or paths: `pg-docker-backup.health=/api/health/live,/api/health/ready`. */
export const LABEL_HEALTH = 'pg-docker-backup.health';
/** The runbook's endpoints, offered on an app's published port when nothing is configured. */
export const DEFAULT_HEALTH_PATHS = ['/api/health/live', '/api/health/ready'];
/** A container without a healthcheck counts as up once it has run this long (a crash right after start shows). */
export const STABLE_MS = 3000;

export interface HealthUrl {
  url: string;
  /** From the setting or the label (any answer but 200 fails), or the runbook's default (a 404 only says it has none). */
  configured: boolean;
}

/** Where an app answers on this machine: its first published TCP port, on 127.0.0.1 when bound to every address. */
export function publishedBase(ports: ContainerDetails['ports']): string | undefined {
  const p = ports.find((x) => ['', '0.0.0.0', '::', '127.0.0.1', '::1'].includes(x.hostIp)) ?? ports[0];
  if (!p) return undefined;
  const host = ['', '0.0.0.0', '::'].includes(p.hostIp) ? '127.0.0.1' : p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp;
  return `http://${host}:${p.hostPort}`;
}

/**
 * An app's health URLs (pure): the setting's URLs for it, else the label's (a path is joined with the
 * published port), else the runbook's two paths on the published port. `none` says why there are none.
 */
export function healthUrlsFor(app: Pick<ContainerDetails, 'name' | 'labels' | 'ports'>, configured: Readonly<Record<string, readonly string[]>> = {}): { urls: HealthUrl[]; none?: string } {
  const base = publishedBase(app.ports);
  const fromSetting = configured[app.name];
  if (fromSetting?.length) return { urls: fromSetting.map((url) => ({ url, configured: true })) };
  const label = app.labels[LABEL_HEALTH]?.split(',').map((s) => s.trim()).filter(Boolean);
  const join = (p: string) => (/^https?:\/\//i.test(p) ? p : base ? `${base}${p.startsWith('/') ? '' : '/'}${p}` : undefined);
  if (label?.length) {
    const urls = label.map(join).filter((u): u is string => !!u);
    if (urls.length) return { urls: urls.map((url) => ({ url, configured: true })) };
    return { urls: [], none: `its ${LABEL_HEALTH} label names paths, but it publishes no port to reach them on` };
  }
  if (!base) return { urls: [], none: `it publishes no port: set pgDockerBackup.healthChecks (or the label ${LABEL_HEALTH}=…) with full URLs to check it` };
  return { urls: DEFAULT_HEALTH_PATHS.map((p) => ({ url: `${base}${p}`, configured: false })) };
}

/** A URL for messages: any user and password in it left out. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Waits until an app container runs (and is healthy where it has a Docker healthcheck, or has stayed up
 * for a few seconds where it has none), up to the deadline.
 */
export async function checkAppRunning(docker: DockerClient, app: { id: string; name: string }, deadline: number, signal?: AbortSignal): Promise<{ result: CheckResult; details?: ContainerDetails }> {
  const subject = app.name;
  let d: ContainerDetails | undefined;
  const started = Date.now();
  for (;;) {
    try {
      d = await docker.inspectContainer(app.id);
    } catch (e) {
      return { result: { check: 'app', subject, status: 'failed', detail: `cannot be inspected: ${errorMessage(e)}` } };
    }
    const left = deadline - Date.now();
    const restarts = d.restartPolicy !== 'no';
    if (d.state === 'running') {
      if (d.health === 'healthy') return { result: { check: 'app', subject, status: 'passed', detail: 'running and healthy' }, details: d };
      const upMs = d.startedAt ? Date.now() - d.startedAt.getTime() : STABLE_MS;
      if (!d.health && upMs >= Math.min(STABLE_MS, Math.max(0, deadline - started))) return { result: { check: 'app', subject, status: 'passed', detail: 'running (no Docker healthcheck)' }, details: d };
      if (left <= 0) {
        const detail = d.health ? `running but ${d.health}${d.healthOutput ? `: ${d.healthOutput.split('\n')[0]}` : ''} after ${Math.round((Date.now() - started) / 1000)} s` : 'running';
        return { result: { check: 'app', subject, status: d.health ? 'failed' : 'passed', detail }, details: d };
      }
    } else if (d.state === 'created') {
      if (left <= 0) return { result: { check: 'app', subject, status: 'failed', detail: 'was created but never started' }, details: d };
    } else if (d.state === 'exited' || d.state === 'dead') {
      if (d.exitCode === 0 && !restarts) return { result: { check: 'app', subject, status: 'notChecked', detail: 'ran and finished (exit code 0): a one-off job, not a service' }, details: d };
      if (!restarts || left <= 0) return { result: { check: 'app', subject, status: 'failed', detail: `is not running: it ${d.state} with code ${d.exitCode ?? '?'} (see docker logs ${d.name})` }, details: d };
    } else if (left <= 0) {
      return { result: { check: 'app', subject, status: 'failed', detail: `is ${d.state}, not running (see docker logs ${d.name})` }, details: d };
    }
    if (signal?.aborted) return { result: { check: 'app', subject, status: 'notChecked', detail: 'cancelled' }, details: d };
    await sleep(Math.min(500, Math.max(50, left)), signal);
  }
}

/** One health URL: asked until it answers 200 or the deadline passes. */
export async function checkHealthUrl(app: string, h: HealthUrl, deadline: number, signal?: AbortSignal): Promise<CheckResult> {
  const subject = `${app} ${shownUrl(h.url)}`;
  let last = '';
  let tries = 0;
  const started = Date.now();
  for (;;) {
    tries++;
    const t0 = Date.now();
    try {
      const timeout = AbortSignal.timeout(Math.max(500, Math.min(5000, deadline - Date.now())));
      const res = await fetch(h.url, { redirect: 'manual', signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      await res.body?.cancel().catch(() => undefined);
      if (res.status === 200) return { check: 'health', subject, status: 'passed', detail: `200 in ${Date.now() - t0} ms` };
      if (res.status === 404 && !h.configured) {
        return { check: 'health', subject, status: 'notChecked', detail: `404: the app has no such endpoint (the runbook's default); set pgDockerBackup.healthChecks or the label pg-docker-backup.health to check others` };
      }
      last = `answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      last = `did not answer (${cause?.code ?? (e instanceof Error && e.name === 'TimeoutError' ? 'timed out' : cause?.message ?? errorMessage(e))})`;
    }
    if (signal?.aborted) return { check: 'health', subject, status: 'notChecked', detail: 'cancelled' };
    if (Date.now() >= deadline) {
      return { check: 'health', subject, status: 'failed', detail: `${last}, not 200 (${tries} ${tries === 1 ? 'try' : 'tries'} in ${Math.round((Date.now() - started) / 1000)} s)` };
    }
    await sleep(Math.min(500, Math.max(0, deadline - Date.now())), signal);
  }
}
