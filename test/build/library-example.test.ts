/** Runs docs/examples/build-image.ts (the docs/library.md example) as a user would. */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyRootfs, type TinyRootfs } from './tiny-rootfs.ts';

const EXAMPLE = resolve('docs/examples/build-image.ts');
let fs: TinyRootfs;
let noSsh: TinyRootfs;

beforeAll(() => {
  fs = makeTinyRootfs();
  noSsh = makeTinyRootfs({ uaiSsh: false });
});
afterAll(() => {
  fs?.cleanup();
  noSsh?.cleanup();
});

describe('docs/examples/build-image.ts', () => {
  it('builds an OCI layout that skopeo reads with the labels and env it sets', () => {
    const layout = join(fs.dir, 'layout');
    const r = spawnSync(process.execPath, [EXAMPLE, fs.image, `oci:${layout}:example`], { encoding: 'utf8' });
    expect(r.stderr).not.toContain('failed');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`oci:${layout}:example`);
    const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${layout}:example`], { encoding: 'utf8' }));
    expect(config.config).toMatchObject({
      Entrypoint: ['/usr/bin/uai-ssh.sh'],
      Env: ['UAI_EXAMPLE=1'],
      Labels: { 'org.opencontainers.image.title': 'custom end-user UAI' },
    });
    rmSync(layout, { recursive: true, force: true });
  });

  it('reports a library error with its code', () => {
    const r = spawnSync(process.execPath, [EXAMPLE, noSsh.image, `oci:${join(noSsh.dir, 'x')}`], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('[UAI_IMAGE_NO_UAI_SSH]');
  });
});
