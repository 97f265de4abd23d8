/**
 * `uai-assemble tar IMAGE`: the layer tar of a SquashFS, to a file or stdout, with its
 * diff_id and size. The same bytes `build` pushes as the (uncompressed) layer.
 */
import { open, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import type { WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { CRAY_SOURCE_OPTIONS, CRAY_SOURCE_USAGE } from '../cray-options.ts';
import { openImageArg } from '../open-image.ts';
import { createSquashfsLayer, type Injection, type SquashfsLayer } from '../../layer/index.ts';
import { UaiError, isUaiError } from '../../errors.ts';
import { EXIT_OK, UsageError, isOutputClosed, printWarning, writeAll, writeOut, type CliIo, type Command } from '../io.ts';

const USAGE = [
  'uai-assemble tar IMAGE [-o FILE|-] [--exclude GLOB]... [--no-default-excludes] [--add SRC:DEST[:MODE]]... [--allow-whiteout-names] [--json] [CSM options]',
  '  IMAGE is a local path, s3://BUCKET/KEY, https://URL, bos:TEMPLATE[#BOOTSET] or ims:IMAGE_ID; CSM options:',
  CRAY_SOURCE_USAGE,
].join('\n');

/** `SRC:DEST[:MODE]` → an injection; SRC may itself contain `:`, MODE is octal. */
export function parseAddSpec(spec: string, cwd: string): Injection {
  const parts = spec.split(':');
  let mode: number | undefined;
  if (parts.length >= 3 && /^[0-7]{1,5}$/.test(parts.at(-1)!)) {
    mode = parseInt(parts.pop()!, 8);
    if (mode > 0o7777) throw new UsageError(`--add ${spec}: mode ${parts.at(-1)} is above 7777`);
  }
  const dest = parts.pop();
  const src = parts.join(':');
  if (parts.length === 0 || !src || !dest) throw new UsageError(`--add ${spec}: expected SRC:DEST[:MODE]`);
  if (!dest.startsWith('/')) throw new UsageError(`--add ${spec}: DEST must be an absolute path in the image`);
  return { dest, content: { path: resolve(cwd, src) }, ...(mode === undefined ? {} : { mode }) };
}

/** What went wrong with an output file, in words that name the user's path, not the temp file. */
function outputFailure(file: string, err: unknown): UaiError {
  if (isUaiError(err) && err.code === 'UAI_CLI_OUTPUT') return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  const reasons: Record<string, string> = {
    ENOENT: `directory ${dirname(file)} does not exist`,
    ENOTDIR: `a component of ${dirname(file)} is not a directory`,
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EISDIR: 'it is a directory',
    EPIPE: 'the reader closed it (EPIPE)',
    ERR_STREAM_DESTROYED: 'the output was closed',
  };
  const reason = typeof code === 'string' ? (reasons[code] ?? code) : err instanceof Error ? err.message : String(err);
  return new UaiError('UAI_CLI_OUTPUT', `cannot write ${file}: ${reason}`, { details: { path: file, ...(typeof code === 'string' ? { errno: code } : {}) } });
}

/** Destroys `out` (if still open) and waits until its file descriptor is closed. */
async function closeQuietly(out: WriteStream): Promise<void> {
  if (out.closed) return;
  await new Promise<void>((resolveClose) => {
    out.once('close', () => resolveClose());
    out.destroy();
  });
}

/**
 * Writes beside `file` under a temporary name and renames at the end: never a half file.
 * On any failure (the layer's, the disk's, an abort) the temporary file is removed and
 * the error is thrown; file system errors are reported with `file`, the user's path.
 * An existing non-regular file (`/dev/null`, a FIFO, a terminal) is written in place:
 * renaming over it would replace the device node with a regular file.
 */
async function writeFileAtomically(stream: AsyncIterable<Uint8Array>, file: string, signal: AbortSignal): Promise<void> {
  const existing = await stat(file).catch(() => undefined);
  const inPlace = existing !== undefined && !existing.isFile();
  const target = inPlace ? file : join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let out: WriteStream;
  try {
    const handle = await open(target, inPlace ? 'w' : 'wx');
    out = handle.createWriteStream({ highWaterMark: 1 << 20 });
  } catch (err) {
    throw outputFailure(file, err);
  }
  try {
    await writeAll(stream, out, signal);
    out.end();
    await finished(out);
  } catch (err) {
    // `out` keeps its error listener (io.ts) until it is closed: writes still queued when
    // it is destroyed report errors that must not reach the process as unhandled events.
    const fromOutput = err === out.errored || isOutputClosed(err);
    await closeQuietly(out);
    if (!inPlace) await unlink(target).catch(() => undefined);
    throw fromOutput ? outputFailure(file, isOutputClosed(err) ? err.cause : err) : err;
  }
  if (inPlace) return;
  try {
    await rename(target, file);
  } catch (err) {
    await unlink(target).catch(() => undefined);
    throw outputFailure(file, err);
  }
}

/** The layer's whiteout error speaks of the library option; the CLI user has a flag instead. */
function cliWorded(err: unknown): unknown {
  if (!isUaiError(err) || err.code !== 'UAI_LAYER_WHITEOUT_NAME') return err;
  const path = typeof err.details.path === 'string' ? err.details.path : undefined;
  if (path === undefined) return err;
  return new UaiError(err.code, `${path}: a name starting with '.wh.' would be read as an OCI whiteout (--allow-whiteout-names to keep it)`, { details: err.details });
}

export const tarCommand: Command = {
  name: 'tar',
  summary: 'write the layer tar of a SquashFS image (excludes, injections) and print its diff_id',
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: {
          output: { type: 'string', short: 'o' },
          exclude: { type: 'string', multiple: true },
          'no-default-excludes': { type: 'boolean' },
          add: { type: 'string', multiple: true },
          'allow-whiteout-names': { type: 'boolean' },
          json: { type: 'boolean' },
          ...CRAY_SOURCE_OPTIONS,
        },
      });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'IMAGE is missing' : 'give exactly one IMAGE');
    const toStdout = values.output === undefined || values.output === '-';
    if (toStdout && values.json) throw new UsageError('--json needs -o FILE (stdout carries the tar)');
    if (toStdout && (io.stdout as { isTTY?: boolean }).isTTY) {
      throw new UsageError('refusing to write a tar to a terminal: use -o FILE or redirect stdout');
    }
    const add = (values.add ?? []).map((spec) => parseAddSpec(spec, io.cwd));
    const onWarning = (w: Parameters<typeof printWarning>[1]) => printWarning(io, w);

    const { image } = await openImageArg(positionals[0]!, values, io, onWarning);
    let layer: SquashfsLayer;
    try {
      layer = createSquashfsLayer(image, {
        signal: io.signal,
        exclude: values.exclude ?? [],
        defaultExcludes: !values['no-default-excludes'],
        add,
        allowWhiteoutNames: values['allow-whiteout-names'] === true,
        onWarning,
      });
      const stream = layer.open({ signal: io.signal });
      if (toStdout) await writeAll(stream, io.stdout, io.signal);
      else await writeFileAtomically(stream, resolve(io.cwd, values.output!), io.signal);
    } catch (err) {
      // A closed stdout pipe (`tar IMAGE | head -c 100`) throws OutputClosedError, which
      // main.ts turns into a quiet exit 0; a FILE's reader going away is an error (above).
      throw cliWorded(err);
    } finally {
      await image.close();
    }

    const stats = layer.stats();
    if (values.json) {
      await writeOut(io.stdout, `${JSON.stringify({ diffId: layer.diffId(), size: layer.size(), entries: stats.entries, skipped: stats.skipped })}\n`);
    } else {
      const skipped = stats.skipped.length === 0 ? '' : `, skipped ${stats.skipped.length} (${stats.skipped.map((s) => `${s.path}: ${s.reason}`).slice(0, 5).join(', ')}${stats.skipped.length > 5 ? ', …' : ''})`;
      await writeOut(io.stderr, `diff_id ${layer.diffId()}\nsize ${layer.size()}\nentries ${stats.entries}${skipped}\n`);
    }
    return EXIT_OK;
  },
};
