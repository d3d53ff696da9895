import type Docker from 'dockerode';
import { dockerStatus, wrapDockerError, type DockerConnection } from './connection';
import { PgBackupError } from '../errors';

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  /** running, exited, paused, restarting, created, dead */
  state: string;
  status: string;
  labels: Record<string, string>;
  createdAt: Date;
}

export interface ContainerDetails extends ContainerSummary {
  env: Record<string, string>;
  user: string;
  /** The names other containers reach it by on its networks (aliases, e.g. a compose service name). */
  networkAliases: string[];
  /** Docker healthcheck state (`starting`, `healthy`, `unhealthy`); undefined without a healthcheck. */
  health?: string;
  /** The last healthcheck's output, when it failed. */
  healthOutput?: string;
  /** Exit code of the last run (when not running). */
  exitCode?: number;
  /** When it was last started (undefined when never). */
  startedAt?: Date;
  /** `no`, `always`, `unless-stopped`, `on-failure`. */
  restartPolicy: string;
  /** Published TCP ports: container port → host address and port. */
  ports: { containerPort: number; hostIp: string; hostPort: number }[];
  /** The command (arguments of the entrypoint), e.g. `postgres -c archive_mode=on`. */
  cmd: string[];
  /** What is mounted into it (volumes, host folders, tmpfs). */
  mounts: MountedVolume[];
}

/** A mount of a running container, as inspect reports it. */
export interface MountedVolume {
  type: string;
  /** The volume's name (volumes only). */
  name?: string;
  /** The host path (bind) or the volume's folder on the engine's host. */
  source: string;
  /** Where it is in the container. */
  destination: string;
  readOnly: boolean;
}

/** A volume, a host folder or a tmpfs mounted into a new container. */
export interface ContainerMount {
  type: 'volume' | 'bind' | 'tmpfs';
  /** The volume's name (created when missing) or the host path; none for tmpfs. */
  source?: string;
  target: string;
  readOnly?: boolean;
  /** tmpfs: its size limit (e.g. a small /tmp for tests of a full disk). */
  sizeBytes?: number;
}

/** What a new container is made of (the `docker create` options the product and its tests use). */
export interface ContainerSpec {
  name: string;
  image: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** Replaces the image's entrypoint. */
  entrypoint?: readonly string[];
  /** Replaces the image's command (arguments of the entrypoint). */
  cmd?: readonly string[];
  /** A network to join (instead of the default bridge), with these aliases on it. */
  network?: string;
  aliases?: readonly string[];
  mounts?: readonly ContainerMount[];
  /** TCP ports to publish: container port → host port (0: any free one) on hostIp (default 127.0.0.1). */
  ports?: readonly { containerPort: number; hostPort?: number; hostIp?: string }[];
  /** A Docker healthcheck (`CMD` argv run in the container). */
  healthcheck?: { test: readonly string[]; intervalMs?: number; timeoutMs?: number; retries?: number };
}

export interface ContainerClient {
  listContainers(): Promise<ContainerSummary[]>;
  inspectContainer(idOrName: string): Promise<ContainerDetails>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds?: number): Promise<void>;
  /** Creates (does not start) a container; returns its id. */
  createContainer(spec: ContainerSpec): Promise<string>;
  /** Removes a container; `force` stops it first, `removeVolumes` drops its anonymous volumes. */
  removeContainer(idOrName: string, options?: { force?: boolean; removeVolumes?: boolean }): Promise<void>;
  /** The CPUs a container may use: the host's, lowered by its --cpus / --cpu-quota / --cpuset-cpus. */
  cpuCount(container: string): Promise<number>;
  /** Waits until a container stops; its exit code. */
  waitContainer(idOrName: string, signal?: AbortSignal): Promise<number>;
}

/** The CPUs a container may use, from the host's count and its HostConfig limits. */
export function cpusAllowed(hostCpus: number, hc: { NanoCpus?: number; CpuQuota?: number; CpuPeriod?: number; CpusetCpus?: string }): number {
  let n = Math.max(1, hostCpus);
  if (hc.NanoCpus && hc.NanoCpus > 0) n = Math.min(n, Math.ceil(hc.NanoCpus / 1e9));
  if (hc.CpuQuota && hc.CpuQuota > 0) n = Math.min(n, Math.ceil(hc.CpuQuota / (hc.CpuPeriod && hc.CpuPeriod > 0 ? hc.CpuPeriod : 100_000)));
  if (hc.CpusetCpus) {
    let count = 0;
    for (const part of hc.CpusetCpus.split(',')) {
      const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
      if (m) count += m[2] !== undefined ? Math.max(0, Number(m[2]) - Number(m[1]) + 1) : 1;
    }
    if (count > 0) n = Math.min(n, count);
  }
  return Math.max(1, n);
}

export function parseEnvList(list: readonly string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of list ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
  }
  return env;
}

/** The Engine API's create body for a spec (pure: unit-tested). */
export function containerCreateOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const options: Docker.ContainerCreateOptions = {
    name: spec.name,
    Image: spec.image,
    Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: { ...spec.labels },
    HostConfig: {},
  };
  if (spec.entrypoint) options.Entrypoint = [...spec.entrypoint];
  if (spec.cmd) options.Cmd = [...spec.cmd];
  if (spec.network) {
    options.HostConfig!.NetworkMode = spec.network;
    if (spec.aliases?.length) options.NetworkingConfig = { EndpointsConfig: { [spec.network]: { Aliases: [...spec.aliases] } } };
  }
  if (spec.ports?.length) {
    options.ExposedPorts = Object.fromEntries(spec.ports.map((p) => [`${p.containerPort}/tcp`, {}]));
    options.HostConfig!.PortBindings = Object.fromEntries(
      spec.ports.map((p) => [`${p.containerPort}/tcp`, [{ HostIp: p.hostIp ?? '127.0.0.1', HostPort: p.hostPort ? String(p.hostPort) : '' }]]),
    );
  }
  if (spec.healthcheck) {
    const ns = (ms: number | undefined, fallback: number) => (ms ?? fallback) * 1e6;
    options.Healthcheck = { Test: ['CMD', ...spec.healthcheck.test], Interval: ns(spec.healthcheck.intervalMs, 5000), Timeout: ns(spec.healthcheck.timeoutMs, 3000), Retries: spec.healthcheck.retries ?? 3 };
  }
  if (spec.mounts?.length) {
    options.HostConfig!.Mounts = spec.mounts.map((m) => ({
      Type: m.type,
      Target: m.target,
      Source: m.source ?? '',
      ...(m.readOnly ? { ReadOnly: true } : {}),
      ...(m.type === 'tmpfs' && m.sizeBytes ? { TmpfsOptions: { SizeBytes: m.sizeBytes, Mode: 0o1777 } } : {}),
    }));
  }
  return options;
}

function toSummary(c: Docker.ContainerInfo): ContainerSummary {
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''),
    image: c.Image,
    state: c.State,
    status: c.Status,
    labels: c.Labels ?? {},
    createdAt: new Date(c.Created * 1000),
  };
}

/** Published TCP ports from an inspect's NetworkSettings.Ports (pure: unit-tested). */
export function publishedPorts(ports: Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined): ContainerDetails['ports'] {
  const out: ContainerDetails['ports'] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const m = /^(\d+)\/tcp$/.exec(key);
    if (!m || !bindings) continue;
    for (const b of bindings) {
      const hostPort = Number(b.HostPort);
      if (hostPort > 0) out.push({ containerPort: Number(m[1]), hostIp: b.HostIp ?? '', hostPort });
    }
  }
  return out.sort((a, b) => a.containerPort - b.containerPort || a.hostIp.localeCompare(b.hostIp));
}

function toDetails(c: Docker.ContainerInspectInfo): ContainerDetails {
  const health = c.State.Health;
  const lastHealth = health?.Log?.[health.Log.length - 1];
  const networks = Object.values(c.NetworkSettings?.Networks ?? {}) as { Aliases?: string[] | null; DNSNames?: string[] | null }[];
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    image: c.Config.Image,
    state: c.State.Status,
    status: c.State.Status,
    labels: c.Config.Labels ?? {},
    createdAt: new Date(c.Created),
    env: parseEnvList(c.Config.Env),
    user: c.Config.User ?? '',
    networkAliases: [...new Set(networks.flatMap((n) => [...(n.Aliases ?? []), ...(n.DNSNames ?? [])]))],
    health: health?.Status && health.Status !== 'none' ? health.Status : undefined,
    healthOutput: lastHealth && lastHealth.ExitCode !== 0 ? String(lastHealth.Output ?? '').trim().slice(-500) : undefined,
    exitCode: c.State.Running ? undefined : c.State.ExitCode,
    startedAt: c.State.StartedAt && !c.State.StartedAt.startsWith('0001-') ? new Date(c.State.StartedAt) : undefined,
    restartPolicy: c.HostConfig?.RestartPolicy?.Name || 'no',
    ports: publishedPorts(c.NetworkSettings?.Ports as Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined),
    cmd: Array.isArray(c.Config.Cmd) ? c.Config.Cmd : c.Config.Cmd ? [c.Config.Cmd as unknown as string] : [],
    mounts: (c.Mounts ?? []).map((m) => ({ type: m.Type, name: m.Name || undefined, source: m.Source, destination: m.Destination, readOnly: m.RW === false })),
  };
}

/** Container lifecycle. Every call logs and rethrows with what it was doing; 304 on start/stop is success. */
export function createContainerClient(conn: DockerConnection): ContainerClient {
  const { log } = conn;
  return {
    async listContainers() {
      const docker = await conn.docker();
      log.trace('docker: list containers');
      try {
        return (await docker.listContainers({ all: true })).map(toSummary);
      } catch (e) {
        throw wrapDockerError('listing containers', e);
      }
    },
    async inspectContainer(idOrName) {
      const docker = await conn.docker();
      log.trace(`docker: inspect ${idOrName}`);
      try {
        return toDetails(await docker.getContainer(idOrName).inspect());
      } catch (e) {
        const err = wrapDockerError(`inspecting container ${idOrName}`, e);
        if (err.kind === 'notFound') throw new PgBackupError('notFound', `There is no container named ${idOrName}.`, { cause: e });
        throw err;
      }
    },
    async startContainer(id) {
      const docker = await conn.docker();
      log.info(`docker: start ${id}`);
      try {
        await docker.getContainer(id).start();
      } catch (e) {
        if (dockerStatus(e) === 304) return; // already running
        throw wrapDockerError(`starting container ${id}`, e);
      }
    },
    async stopContainer(id, timeoutSeconds = 10) {
      const docker = await conn.docker();
      log.info(`docker: stop ${id} (timeout ${timeoutSeconds} s)`);
      try {
        await docker.getContainer(id).stop({ t: timeoutSeconds });
      } catch (e) {
        if (dockerStatus(e) === 304) return; // already stopped
        throw wrapDockerError(`stopping container ${id}`, e);
      }
    },
    async createContainer(spec) {
      const docker = await conn.docker();
      log.info(`docker: create ${spec.name} from ${spec.image}`);
      try {
        return (await docker.createContainer(containerCreateOptions(spec))).id;
      } catch (e) {
        throw wrapDockerError(`creating container ${spec.name}`, e);
      }
    },
    async removeContainer(idOrName, { force = false, removeVolumes = false } = {}) {
      const docker = await conn.docker();
      log.info(`docker: remove ${idOrName}${force ? ' (force)' : ''}`);
      try {
        await docker.getContainer(idOrName).remove({ force, v: removeVolumes });
      } catch (e) {
        throw wrapDockerError(`removing container ${idOrName}`, e);
      }
    },
    async cpuCount(container) {
      const docker = await conn.docker();
      log.debug(`docker: CPUs of ${container}`);
      try {
        const [info, c] = await Promise.all([docker.info() as Promise<{ NCPU?: number }>, docker.getContainer(container).inspect()]);
        return cpusAllowed(info.NCPU ?? 1, c.HostConfig ?? {});
      } catch (e) {
        throw wrapDockerError(`reading the CPUs of ${container}`, e);
      }
    },
    waitContainer: (idOrName, signal) => waitForContainer(conn, idOrName, signal),
  };
}

async function waitForContainer(conn: DockerConnection, idOrName: string, signal?: AbortSignal): Promise<number> {
  const docker = await conn.docker();
  conn.log.debug(`docker: wait for ${idOrName}`);
  try {
    const r = (await docker.getContainer(idOrName).wait({ abortSignal: signal })) as { StatusCode?: number };
    return r.StatusCode ?? -1;
  } catch (e) {
    throw wrapDockerError(`waiting for container ${idOrName}`, e);
  }
}
