/**
 * The shared part of the two archive destinations: a tar written into `FILE.uai-tmp-…`
 * beside the target (so the final rename stays on one filesystem), renamed over FILE
 * only on commit, removed on abort. Layer blobs stream straight into it (see
 * tar-file-writer.ts): there is no temporary tarball besides the archive itself.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DestinationError } from './errors.ts';
import { TarFileWriter } from './tar-file-writer.ts';

export class ArchiveFile {
  readonly path: string;
  readonly temp: string;
  #writer: TarFileWriter | undefined;
  readonly #mtime: number;

  constructor(path: string, options: { cwd?: string; mtime?: number } = {}) {
    this.path = resolve(options.cwd ?? process.cwd(), path);
    this.temp = `${this.path}.uai-tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    this.#mtime = options.mtime ?? 0;
  }

  /** Checks the target's folder exists and the target is not a directory. */
  async check(): Promise<void> {
    try {
      const dir = await stat(dirname(this.path));
      if (!dir.isDirectory()) throw new Error('not a directory');
    } catch (cause) {
      throw new DestinationError('UAI_DEST_IO', `${this.path}: the folder ${dirname(this.path)} does not exist`, {
        cause,
        details: { path: this.path },
      });
    }
    const target = await stat(this.path).catch(() => undefined);
    if (target?.isDirectory()) {
      throw new DestinationError('UAI_DEST_IO', `${this.path}: is a directory, not an archive file`, { details: { path: this.path } });
    }
  }

  async writer(): Promise<TarFileWriter> {
    this.#writer ??= await TarFileWriter.create(this.temp, { mtime: this.#mtime });
    return this.#writer;
  }

  /** Ends the tar and renames it over the target. */
  async commit(): Promise<void> {
    const writer = await this.writer();
    await writer.finish();
    try {
      await rename(this.temp, this.path);
    } catch (cause) {
      throw new DestinationError('UAI_DEST_IO', `${this.path}: cannot rename the finished archive into place: ${(cause as Error).message}`, {
        cause,
        details: { path: this.path },
      });
    }
  }

  async abort(): Promise<void> {
    await this.#writer?.close().catch(() => undefined);
    await rm(this.temp, { force: true }).catch(() => undefined);
  }
}
