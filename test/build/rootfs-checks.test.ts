import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decidePlatform, requireUaiSsh, uaiSshDefaults } from '../../src/build/rootfs-checks.ts';
import type { Warning } from '../../src/errors.ts';
import { FileSource } from '../../src/source/file.ts';
import { SquashfsImage } from '../../src/squashfs/index.ts';
import { makeTinyRootfs, type TinyRootfs } from './tiny-rootfs.ts';

let arm: TinyRootfs;
let notExec: TinyRootfs;
let armImage: SquashfsImage;
let notExecImage: SquashfsImage;

beforeAll(async () => {
  arm = makeTinyRootfs({ machine: 183 });
  notExec = makeTinyRootfs({ uaiSsh: false, files: { 'usr/bin/uai-ssh.sh': '#!/bin/bash\n' } });
  armImage = await SquashfsImage.open(await FileSource.open(arm.image));
  notExecImage = await SquashfsImage.open(await FileSource.open(notExec.image));
});
afterAll(async () => {
  await armImage.close();
  await notExecImage.close();
  arm.cleanup();
  notExec.cleanup();
});

const noShell = {
  lookup: async () => {
    throw Object.assign(new Error('not found'), { code: 'UAI_SQFS_NOT_FOUND' });
  },
  readFile: async () => new Uint8Array(),
};

describe('decidePlatform', () => {
  it('--arch wins without reading the rootfs', async () => {
    expect(await decidePlatform(noShell, { origin: 'x', override: { architecture: 'ppc64le' } })).toEqual({ architecture: 'ppc64le' });
  });

  it('fails with UAI_IMAGE_ARCH_MISMATCH when /bin/sh is not the declared arch; an explicit --arch is used with a warning', async () => {
    const err = await decidePlatform(armImage, { origin: 'bos:t', declaredArch: 'x86_64' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UAI_IMAGE_ARCH_MISMATCH', details: { declared: 'x86_64', detected: 'arm64' } });
    expect((err as Error).message).toContain('x86_64');
    expect((err as Error).message).toContain('arm64');
    const warnings: Warning[] = [];
    const p = await decidePlatform(armImage, { origin: 'bos:t', declaredArch: 'x86_64', override: { architecture: 'amd64' }, onWarning: (w) => warnings.push(w) });
    expect(p).toEqual({ architecture: 'amd64' });
    expect(warnings.map((w) => w.code)).toEqual(['UAI_IMAGE_ARCH_MISMATCH']);
    const quiet: Warning[] = [];
    await decidePlatform(armImage, { origin: 'bos:t', declaredArch: 'aarch64', onWarning: (w) => quiet.push(w) });
    expect(quiet).toEqual([]);
  });

  it('without a shell: the declared arch with a warning, else UAI_IMAGE_NO_SHELL', async () => {
    const warnings: Warning[] = [];
    expect(await decidePlatform(noShell, { origin: 'ims:1', declaredArch: 'amd64', onWarning: (w) => warnings.push(w) })).toEqual({ architecture: 'amd64' });
    expect(warnings[0]).toMatchObject({ code: 'UAI_IMAGE_ARCH_FROM_SOURCE', message: expect.stringContaining('ims:1') });
    await expect(decidePlatform(noShell, { origin: 'f.sqfs' })).rejects.toMatchObject({ code: 'UAI_IMAGE_NO_SHELL' });
  });
});

describe('requireUaiSsh', () => {
  it('accepts the script in the image, or an --add of it in any spelling', async () => {
    await expect(requireUaiSsh(armImage, { add: [], origin: 'a' })).resolves.toBe('image');
    await expect(requireUaiSsh(noShell, { add: [{ dest: 'usr//bin/uai-ssh.sh', content: new Uint8Array() }], origin: 'a' })).resolves.toBe('add');
    await expect(requireUaiSsh(noShell, { add: [{ dest: '/usr/bin/other.sh', content: new Uint8Array() }], origin: 'a' })).rejects.toMatchObject({
      code: 'UAI_IMAGE_NO_UAI_SSH',
    });
  });

  it('warns when the script is there but not executable', async () => {
    const warnings: Warning[] = [];
    await requireUaiSsh(notExecImage, { add: [], origin: 'n.sqfs', onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([expect.objectContaining({ code: 'UAI_IMAGE_UAI_SSH_NOT_EXECUTABLE', message: expect.stringContaining('644') })]);
  });
});

describe('uaiSshDefaults', () => {
  it('gives an added /usr/bin/uai-ssh.sh without a mode root-owned 0755, keeps an explicit mode and leaves other files alone', () => {
    const content = { path: '/tmp/x' };
    expect(
      uaiSshDefaults([
        { dest: '/usr/bin/uai-ssh.sh', content, uid: 1000 },
        { dest: 'usr/bin/uai-ssh.sh', content, mode: 0o700 },
        { dest: '/etc/motd', content },
      ]),
    ).toEqual([
      { dest: '/usr/bin/uai-ssh.sh', content, mode: 0o755, uid: 0, gid: 0 },
      { dest: 'usr/bin/uai-ssh.sh', content, mode: 0o700 },
      { dest: '/etc/motd', content },
    ]);
  });
});
