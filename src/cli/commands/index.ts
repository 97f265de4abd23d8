import type { Command } from '../io.ts';

/**
 * Every command, in the order `--help` lists them. A command's module (and with it the
 * library areas it needs: S3 SDK, registry client, …) loads only when that command runs,
 * so `uai-assemble tar` does not pay for loading `build`'s dependencies.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export const commands: CommandEntry[] = [
  {
    name: 'build',
    summary: 'build an image from a SquashFS rootfs and publish it (registry, OCI layout, archives)',
    load: async () => (await import('./build.ts')).buildCommand,
  },
  {
    name: 'tar',
    summary: 'write the layer tar of a SquashFS image (excludes, injections) and print its diff_id',
    load: async () => (await import('./tar.ts')).tarCommand,
  },
  {
    name: 'inspect',
    summary: 'show the superblock, compressor, counts and sizes of a SquashFS image',
    load: async () => (await import('./inspect.ts')).inspectCommand,
  },
  {
    name: 'ls',
    summary: 'list the entries of a SquashFS image (like unsquashfs -lln)',
    load: async () => (await import('./ls.ts')).lsCommand,
  },
  {
    name: 'register',
    summary: 'register an image reference with UAS as an End-User UAI image',
    load: async () => (await import('./register.ts')).registerCommand,
  },
];
