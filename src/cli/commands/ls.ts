import { parseArgs } from 'node:util';
import { type Entry } from '../../squashfs/index.ts';
import { CRAY_SOURCE_OPTIONS, CRAY_SOURCE_USAGE } from '../cray-options.ts';
import { openImageArg } from '../open-image.ts';
import { EXIT_OK, UsageError, writeOut, type CliIo, type Command } from '../io.ts';
import { UaiError } from '../../errors.ts';

const TYPE_CHAR: Record<Entry['type'], string> = { file: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p', socket: 's' };

/** `drwxr-xr-x`, with setuid/setgid/sticky as `ls` shows them. */
export function modeString(type: Entry['type'], mode: number): string {
  const rwx = (bits: number, special: boolean, on: string, off: string): string =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? on : off) : bits & 1 ? 'x' : '-'}`;
  return (
    TYPE_CHAR[type] +
    rwx(mode >> 6, (mode & 0o4000) !== 0, 's', 'S') +
    rwx(mode >> 3, (mode & 0o2000) !== 0, 's', 'S') +
    rwx(mode, (mode & 0o1000) !== 0, 't', 'T')
  );
}

/** One `unsquashfs -lln`-style line (times in UTC, paths `/`-rooted). */
export function longLine(entry: Entry): string {
  const owner = `${entry.uid}/${entry.gid}`;
  const width = Math.max(0, 27 - owner.length);
  const size = entry.type === 'char' || entry.type === 'block' ? `${entry.major},${String(entry.minor).padStart(3)}` : String(shownSize(entry));
  const d = new Date(entry.mtime * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  const time = `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
  const target = entry.type === 'symlink' ? ` -> ${entry.targetString}` : '';
  return `${modeString(entry.type, entry.mode)} ${owner}${size.padStart(width)} ${time} ${entry.path}${target}`;
}

/** The size `unsquashfs -l` shows: a directory's stored listing size, else Entry.size. */
function shownSize(entry: Entry): number {
  return entry.type === 'dir' ? (entry.listingSize ?? 0) : entry.size;
}

/** The `ls --json` object of an entry. */
export function jsonEntry(entry: Entry): Record<string, unknown> {
  const xattrs: Record<string, string> = {};
  for (const [name, value] of entry.xattrs) xattrs[name] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return {
    path: entry.path,
    type: entry.type,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size: shownSize(entry),
    mtime: entry.mtime,
    inode: entry.inode,
    nlink: entry.nlink,
    target: entry.targetString,
    major: entry.major,
    minor: entry.minor,
    xattrs,
    // `path` and `target` replace bytes that are not UTF-8; then the exact bytes follow in base64.
    ...(lossy(entry.rawPath, entry.path.slice(1)) ? { pathBase64: b64(entry.rawPath) } : {}),
    ...(entry.target && lossy(entry.target, entry.targetString ?? '') ? { targetBase64: b64(entry.target) } : {}),
  };
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** True when `text` is not an exact decoding of `bytes` (non-UTF-8 bytes were replaced). */
function lossy(bytes: Uint8Array, text: string): boolean {
  return !Buffer.from(text, 'utf8').equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

function parse(args: string[]): { image: string; path: string | undefined; long: boolean; json: boolean; values: Record<string, unknown> } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { long: { type: 'boolean', short: 'l' }, json: { type: 'boolean' }, ...CRAY_SOURCE_OPTIONS },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [image, path, ...extra] = parsed.positionals;
  if (image === undefined) throw new UsageError('missing IMAGE');
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (parsed.values.long && parsed.values.json) throw new UsageError('--long and --json exclude each other');
  return { image, path, long: parsed.values.long === true, json: parsed.values.json === true, values: parsed.values };
}

function isPrefix(prefix: Uint8Array, of: Uint8Array): boolean {
  if (prefix.length > of.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== of[i]) return false;
  return prefix.length === of.length || prefix.length === 0 || of[prefix.length] === 0x2f;
}

/** `PATH/`, `PATH/.` and `PATH/..` name what a symlink PATH points to; plain `PATH` names the link. */
export function followsLast(path: string): boolean {
  const last = path.slice(path.lastIndexOf('/') + 1);
  return last === '' || last === '.' || last === '..';
}

/** `uai-assemble ls IMAGE [PATH] [--long] [--json]`: the tree (or the subtree at PATH). */
export const lsCommand: Command = {
  name: 'ls',
  summary: 'list the entries of a SquashFS image (like unsquashfs -lln)',
  usage: `uai-assemble ls IMAGE [PATH] [--long|-l] [--json] [CSM options]\n  IMAGE: a path, s3://BUCKET/KEY, https://URL, bos:TEMPLATE[#BOOTSET] or ims:IMAGE_ID\n${CRAY_SOURCE_USAGE}`,
  async run(args: string[], io: CliIo): Promise<number> {
    const { image: spec, path, long, json, values } = parse(args);
    const { image } = await openImageArg(spec, values, io);
    try {
      let root: Uint8Array = new Uint8Array(0);
      if (path !== undefined) {
        // Like ls and `unsquashfs -lln`: a symlink named last is listed itself, not its target;
        // symlinks in the components before it are followed, and so is a last one written `LINK/`.
        const target = await image.lookup(path, { followLast: followsLast(path), signal: io.signal });
        // A trailing `/` asks for a directory (POSIX path resolution): `ls FILE/` or
        // `ls LINK-TO-FILE/` fails as in ls ("Not a directory") instead of listing the file.
        if (followsLast(path) && target.type !== 'dir') {
          throw new UaiError('UAI_SQFS_NOT_DIR', `${path}: ${target.path} is not a directory`, { details: { path } });
        }
        root = target.rawPath;
      }
      // Keep the ancestors of PATH (to reach it) and everything under it; print only the latter.
      const prune = (entry: Entry): boolean => !isPrefix(entry.rawPath, root) && !isPrefix(root, entry.rawPath);
      let buffer = '';
      for await (const entry of image.walk({ signal: io.signal, prune })) {
        if (!isPrefix(root, entry.rawPath)) continue;
        buffer += json ? `${JSON.stringify(jsonEntry(entry))}\n` : long ? `${longLine(entry)}\n` : `${entry.path}\n`;
        if (buffer.length > 65536) {
          await writeOut(io.stdout, buffer);
          buffer = '';
        }
      }
      await writeOut(io.stdout, buffer);
      // `ls IMAGE | head -1` ends in an OutputClosedError, a quiet exit 0 (main.ts).
      return EXIT_OK;
    } finally {
      await image.close();
    }
  },
};
