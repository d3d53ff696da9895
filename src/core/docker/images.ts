import type { Readable } from 'node:stream';
import { wrapDockerError, type DockerConnection } from './connection';
import { PgBackupError, cancelledError } from '../errors';

export interface ImageSummary {
  id: string;
  /** `repo:tag` names; none for a dangling image. */
  tags: string[];
}

/** One line of the engine's pull progress (`Downloading`, `Pull complete`, ...). */
export interface PullProgress {
  status: string;
  /** The layer it is about, when it is about one. */
  id?: string;
  current?: number;
  total?: number;
}

export interface ImageClient {
  /** The image's id and tags; a `notFound` error when it is not here. */
  inspectImage(ref: string): Promise<ImageSummary>;
  /** Whether the image is here (no pull). */
  hasImage(ref: string): Promise<boolean>;
  /** Pulls the image, reporting each progress line, until the engine says it is done. */
  pullImage(ref: string, options?: { onProgress?: (p: PullProgress) => void; signal?: AbortSignal }): Promise<void>;
  listImages(): Promise<ImageSummary[]>;
  /** Gives the image `ref` a second name `repo:tag`. */
  tagImage(ref: string, repo: string, tag: string): Promise<void>;
}

interface ProgressLine {
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  progressDetail?: { current?: number; total?: number };
}

/**
 * Reads the engine's pull stream (one JSON object per line) to its end. An `error` line fails the pull
 * (the engine answers 200 and reports some failures only there).
 */
export function followPullProgress(stream: Readable, onProgress?: (p: PullProgress) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let buffered = '';
    let failed: string | undefined;
    const line = (text: string) => {
      if (!text.trim()) return;
      let obj: ProgressLine;
      try {
        obj = JSON.parse(text) as ProgressLine;
      } catch {
        return; // not a progress line
      }
      if (obj.error || obj.errorDetail?.message) failed ??= obj.errorDetail?.message ?? obj.error;
      else if (obj.status) onProgress?.({ status: obj.status, id: obj.id, current: obj.progressDetail?.current, total: obj.progressDetail?.total });
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        line(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    stream.once('error', reject);
    stream.once('end', () => {
      line(buffered);
      if (failed) reject(new Error(failed));
      else resolve();
    });
    // after 'end' this settles nothing; without it, the engine went away mid-pull
    stream.once('close', () => reject(new Error('the pull stopped before its end')));
  });
}

export function createImageClient(conn: DockerConnection): ImageClient {
  const { log } = conn;
  const client: ImageClient = {
    async inspectImage(ref) {
      const docker = await conn.docker();
      log.trace(`docker: inspect image ${ref}`);
      try {
        const i = await docker.getImage(ref).inspect();
        return { id: i.Id, tags: i.RepoTags ?? [] };
      } catch (e) {
        const err = wrapDockerError(`inspecting image ${ref}`, e);
        if (err.kind === 'notFound') throw new PgBackupError('notFound', `There is no image ${ref} here.`, { cause: e });
        throw err;
      }
    },
    async hasImage(ref) {
      try {
        await client.inspectImage(ref);
        return true;
      } catch (e) {
        if (e instanceof PgBackupError && e.kind === 'notFound') return false;
        throw e;
      }
    },
    async pullImage(ref, { onProgress, signal } = {}) {
      const docker = await conn.docker();
      if (signal?.aborted) throw cancelledError(`pulling ${ref}`);
      log.info(`docker: pull ${ref}`);
      try {
        const stream = (await docker.pull(ref)) as Readable;
        const stop = () => stream.destroy(cancelledError(`pulling ${ref}`));
        signal?.addEventListener('abort', stop, { once: true });
        try {
          await followPullProgress(stream, (p) => {
            log.trace(`docker: pull ${ref}: ${p.id ? `${p.id} ` : ''}${p.status}`);
            onProgress?.(p);
          });
        } finally {
          signal?.removeEventListener('abort', stop);
        }
      } catch (e) {
        throw wrapDockerError(`pulling ${ref}`, e);
      }
    },
    async listImages() {
      const docker = await conn.docker();
      log.debug('docker: list images');
      try {
        return (await docker.listImages()).map((i) => ({ id: i.Id, tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>') }));
      } catch (e) {
        throw wrapDockerError('listing images', e);
      }
    },
    async tagImage(ref, repo, tag) {
      const docker = await conn.docker();
      log.debug(`docker: tag ${ref} as ${repo}:${tag}`);
      try {
        await docker.getImage(ref).tag({ repo, tag });
      } catch (e) {
        throw wrapDockerError(`tagging ${ref} as ${repo}:${tag}`, e);
      }
    },
  };
  return client;
}
