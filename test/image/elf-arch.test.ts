import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectPlatform, parseArch, platformFromElf } from '../../src/image/index.ts';
import { FileSource } from '../../src/source/file.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import { elfHeader, makeTinyRootfs, type TinyRootfs } from '../build/tiny-rootfs.ts';

describe('platformFromElf', () => {
  it('maps e_machine to GOARCH names', () => {
    expect(platformFromElf(elfHeader(62), '/bin/sh')).toEqual({ architecture: 'amd64' });
    expect(platformFromElf(elfHeader(183), '/bin/sh')).toEqual({ architecture: 'arm64', variant: 'v8' });
    expect(platformFromElf(elfHeader(21), '/bin/sh')).toEqual({ architecture: 'ppc64le' });
    expect(platformFromElf(elfHeader(21, { bigEndian: true }), '/bin/sh')).toEqual({ architecture: 'ppc64' });
    expect(platformFromElf(elfHeader(22, { bigEndian: true }), '/bin/sh')).toEqual({ architecture: 's390x' });
    expect(platformFromElf(elfHeader(3, { class32: true }), '/bin/sh')).toEqual({ architecture: '386' });
  });

  it('names the file and the machine when it cannot map', () => {
    expect(() => platformFromElf(elfHeader(9999), '/bin/sh')).toThrow(/\/bin\/sh: ELF e_machine 9999/);
    expect(() => platformFromElf(Buffer.from('#!/bin/bash\n'), '/bin/sh')).toThrow(expect.objectContaining({ code: 'UAI_IMAGE_ARCH' }));
  });
});

describe('parseArch', () => {
  it('accepts GOARCH names, uname names and ARCH/VARIANT', () => {
    expect(parseArch('amd64')).toEqual({ architecture: 'amd64' });
    expect(parseArch('x86_64')).toEqual({ architecture: 'amd64' });
    expect(parseArch('aarch64')).toEqual({ architecture: 'arm64', variant: 'v8' });
    expect(parseArch('linux/arm/v6')).toEqual({ architecture: 'arm', variant: 'v6' });
    expect(() => parseArch('a/b/c')).toThrow(expect.objectContaining({ code: 'UAI_IMAGE_INVALID_OPTION' }));
  });
});

describe('detectPlatform on a real SquashFS', () => {
  let amd: TinyRootfs;
  let arm: TinyRootfs;
  beforeAll(() => {
    amd = makeTinyRootfs({ machine: 62 });
    arm = makeTinyRootfs({ machine: 183 });
  });
  afterAll(() => {
    amd.cleanup();
    arm.cleanup();
  });

  it('reads /bin/sh through the bin -> usr/bin symlink', async () => {
    for (const [fs, expected] of [
      [amd, { architecture: 'amd64' }],
      [arm, { architecture: 'arm64', variant: 'v8' }],
    ] as const) {
      const image = await SquashfsImage.open(await FileSource.open(fs.image));
      try {
        expect(await detectPlatform(image)).toEqual(expected);
      } finally {
        await image.close();
      }
    }
  });

  it('follows /bin/sh -> dash (a final symlink) inside the image', async () => {
    const linked = makeTinyRootfs({ machine: 183, shTarget: 'dash' });
    const image = await SquashfsImage.open(await FileSource.open(linked.image));
    try {
      expect((await image.lookup('/bin/sh')).type).toBe('symlink');
      expect(await detectPlatform(image)).toEqual({ architecture: 'arm64', variant: 'v8' });
    } finally {
      await image.close();
      linked.cleanup();
    }
  });

  it('says to pass --arch when there is no shell', async () => {
    const fake = {
      lookup: async () => {
        throw Object.assign(new Error('nope'), { code: 'UAI_SQFS_NOT_FOUND' });
      },
      readFile: async () => new Uint8Array(),
    };
    await expect(detectPlatform(fake)).rejects.toMatchObject({ code: 'UAI_IMAGE_NO_SHELL', message: expect.stringContaining('--arch') });
  });
});
