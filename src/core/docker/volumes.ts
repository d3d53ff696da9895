import { dockerStatus, wrapDockerError, type DockerConnection } from './connection';

export interface VolumeClient {
  /** Creates a named local volume (labelled, so leftovers can be found); returns its name. */
  createVolume(name: string, options?: { labels?: Record<string, string> }): Promise<string>;
  /** Removes a volume; one that is already gone counts as removed. */
  removeVolume(name: string, options?: { force?: boolean }): Promise<void>;
  /** The names of the volumes carrying this label (`key` or `key=value`). */
  listVolumes(label?: string): Promise<string[]>;
  /** The volumes carrying this label (`key` or `key=value`), with all their labels. */
  listVolumesWithLabels(label: string): Promise<{ name: string; labels: Record<string, string> }[]>;
}

export function createVolumeClient(conn: DockerConnection): VolumeClient {
  const { log } = conn;
  return {
    async createVolume(name, { labels } = {}) {
      const docker = await conn.docker();
      log.info(`docker: create volume ${name}`);
      try {
        await docker.createVolume({ Name: name, Labels: { ...labels } });
        return name;
      } catch (e) {
        throw wrapDockerError(`creating volume ${name}`, e);
      }
    },
    async removeVolume(name, { force = false } = {}) {
      const docker = await conn.docker();
      log.info(`docker: remove volume ${name}`);
      try {
        await docker.getVolume(name).remove({ force });
      } catch (e) {
        if (dockerStatus(e) === 404) return;
        throw wrapDockerError(`removing volume ${name}`, e);
      }
    },
    async listVolumes(label) {
      const docker = await conn.docker();
      log.debug(`docker: list volumes${label ? ` labelled ${label}` : ''}`);
      try {
        const r = await docker.listVolumes(label ? { filters: { label: [label] } } : {});
        return (r.Volumes ?? []).map((v) => v.Name);
      } catch (e) {
        throw wrapDockerError('listing volumes', e);
      }
    },
    async listVolumesWithLabels(label) {
      const docker = await conn.docker();
      log.debug(`docker: list volumes labelled ${label}`);
      try {
        const r = await docker.listVolumes({ filters: { label: [label] } });
        return (r.Volumes ?? []).map((v) => ({ name: v.Name, labels: { ...(v.Labels ?? {}) } }));
      } catch (e) {
        throw wrapDockerError('listing volumes', e);
      }
    },
  };
}
