/**
 * Docker calls only tests need, kept out of the product's DockerClient: dockerode on the endpoint the
 * product resolved (DOCKER_HOST, the docker context, the default socket).
 */
import Docker from 'dockerode';
import type { DockerClient } from '../../src/core/docker/client';

export async function rawDocker(docker: DockerClient): Promise<Docker> {
  return new Docker({ ...(await docker.endpoint()).modem } as Docker.DockerOptions);
}

/** Removes a named volume (gone already is fine). */
export async function removeVolume(docker: DockerClient, name: string): Promise<void> {
  const raw = await rawDocker(docker);
  await raw
    .getVolume(name)
    .remove({ force: true })
    .catch((e: { statusCode?: number }) => {
      if (e.statusCode !== 404) throw e;
    });
}
