import { dockerStatus, wrapDockerError, type DockerConnection } from './connection';

export interface NetworkSummary {
  id: string;
  name: string;
  driver: string;
}

export interface NetworkClient {
  /**
   * Creates a bridge network; returns its id. With CheckDuplicate, so an engine before Docker 25 refuses
   * a second network of the same name instead of making one.
   */
  createNetwork(name: string, options?: { labels?: Record<string, string> }): Promise<string>;
  /** The network of exactly this name, created when there is none. */
  ensureNetwork(name: string, options?: { labels?: Record<string, string> }): Promise<void>;
  /** The networks whose name is exactly `name` (more than one only when an old engine made duplicates). */
  listNetworks(name?: string): Promise<NetworkSummary[]>;
  removeNetwork(idOrName: string): Promise<void>;
}

export function createNetworkClient(conn: DockerConnection): NetworkClient {
  const { log } = conn;
  const client: NetworkClient = {
    async createNetwork(name, { labels } = {}) {
      const docker = await conn.docker();
      log.info(`docker: create network ${name}`);
      try {
        return (await docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: { ...labels } })).id;
      } catch (e) {
        throw wrapDockerError(`creating network ${name}`, e);
      }
    },
    async ensureNetwork(name, options) {
      try {
        await client.createNetwork(name, options);
      } catch (e) {
        if (dockerStatus((e as { cause?: unknown }).cause) !== 409) throw e; // 409: it exists
        log.debug(`docker: network ${name} exists`);
      }
    },
    async listNetworks(name) {
      const docker = await conn.docker();
      log.debug(`docker: list networks${name ? ` named ${name}` : ''}`);
      try {
        const all = await docker.listNetworks(name ? { filters: { name: [name] } } : {});
        // the engine's name filter matches substrings
        return all.filter((n) => name === undefined || n.Name === name).map((n) => ({ id: n.Id, name: n.Name, driver: n.Driver }));
      } catch (e) {
        throw wrapDockerError('listing networks', e);
      }
    },
    async removeNetwork(idOrName) {
      const docker = await conn.docker();
      log.info(`docker: remove network ${idOrName}`);
      try {
        await docker.getNetwork(idOrName).remove();
      } catch (e) {
        throw wrapDockerError(`removing network ${idOrName}`, e);
      }
    },
  };
  return client;
}
