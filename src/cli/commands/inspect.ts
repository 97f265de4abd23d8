import { parseArgs } from 'node:util';
import { superblockFlagNames } from '../../squashfs/index.ts';
import { CRAY_SOURCE_OPTIONS, CRAY_SOURCE_USAGE } from '../cray-options.ts';
import { openImageArg } from '../open-image.ts';
import { EXIT_OK, UsageError, writeOut, type CliIo, type Command } from '../io.ts';

function parse(args: string[]): { image: string; json: boolean; values: Record<string, unknown> } {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { json: { type: 'boolean' }, ...CRAY_SOURCE_OPTIONS } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length !== 1) throw new UsageError('expected exactly one IMAGE');
  return { image: parsed.positionals[0]!, json: parsed.values.json === true, values: parsed.values };
}

/** `uai-assemble inspect IMAGE [--json]`: superblock, compressor and its options, counts and sizes. */
export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show the superblock, compressor, counts and sizes of a SquashFS image',
  usage: `uai-assemble inspect IMAGE [--json] [CSM options]\n  IMAGE: a path, s3://BUCKET/KEY, https://URL, bos:TEMPLATE[#BOOTSET] or ims:IMAGE_ID\n${CRAY_SOURCE_USAGE}`,
  async run(args: string[], io: CliIo): Promise<number> {
    const { image: spec, json, values } = parse(args);
    const { image, source, origin } = await openImageArg(spec, values, io);
    try {
      const stats = await image.stats({ signal: io.signal });
      const sb = image.superblock;
      const flagNames = superblockFlagNames(sb.flags);
      if (json) {
        const out = { image: origin, size: source.size, superblock: { ...sb, flagNames }, compressorOptions: image.compressorOptions ?? null, stats };
        await writeOut(io.stdout, `${JSON.stringify(out, null, 2)}\n`);
        return EXIT_OK;
      }
      const options = image.compressorOptions ? ` (${Object.entries(image.compressorOptions).map(([k, v]) => `${k}=${v}`).join(', ')})` : '';
      const hex = (n: number | undefined): string => (n === undefined ? 'absent' : `${n} (0x${n.toString(16)})`);
      const lines: Array<[string, string]> = [
        ['image', origin],
        ['format', `SquashFS ${sb.versionMajor}.${sb.versionMinor}`],
        ['compressor', `${sb.compressor}${options}`],
        ['block size', `${sb.blockSize}`],
        ['created', `${new Date(sb.mkfsTime * 1000).toISOString()} (${sb.mkfsTime})`],
        ['flags', `0x${sb.flags.toString(16).padStart(4, '0')} ${flagNames.join(' ')}`],
        ['bytes used', `${sb.bytesUsed} of ${source.size}`],
        ['inodes', `${sb.inodes}`],
        ['fragments', `${sb.fragments}`],
        ['ids', `${sb.idCount}`],
        ['root inode', `block ${Math.floor(sb.rootInodeRef / 65536)} offset ${sb.rootInodeRef % 65536}`],
        ['inode table', hex(sb.inodeTableStart)],
        ['directory table', hex(sb.directoryTableStart)],
        ['fragment table', hex(sb.fragmentTableStart)],
        ['export table', hex(sb.lookupTableStart)],
        ['id table', hex(sb.idTableStart)],
        ['xattr table', hex(sb.xattrIdTableStart)],
        ['files', `${stats.files} (${stats.bytes} bytes)`],
        ['directories', `${stats.dirs}`],
        ['symlinks', `${stats.symlinks}`],
        ['devices', `${stats.devices}`],
        ['fifos', `${stats.fifos}`],
        ['sockets', `${stats.sockets}`],
        ['distinct inodes', `${stats.inodes}`],
        ['xattr entries', `${stats.xattrEntries}`],
      ];
      await writeOut(io.stdout, lines.map(([k, v]) => `${`${k}:`.padEnd(17)}${v}\n`).join(''));
      return EXIT_OK;
    } finally {
      await image.close();
    }
  },
};
