/**
 * Shared setup for the CSM tests: a SquashFS made by the real mksquashfs, a real
 * s3rver holding it (and its IMS manifest.json) in `boot-images`, and the fake gateway
 * whose STS hands out s3rver's keys and endpoint.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeGateway, type FakeGateway } from '../support/fake-gateway.ts';
import { startS3rver, type S3rver } from '../support/s3.ts';
import type { CrayContextOptions } from '../../src/cray/index.ts';

export const IMAGE_ID = '0c0d4081-2e8b-433f-b6f7-e1ef0b907be3';
/** Deliberately not `<id>/rootfs`: the manifest's link.path must be followed. */
export const ROOTFS_KEY = `${IMAGE_ID}/compute-rootfs.squashfs`;
export const MANIFEST_KEY = `${IMAGE_ID}/manifest.json`;

export interface CsmEnv {
  dir: string;
  image: Buffer;
  imagePath: string;
  md5: string;
  s3: S3rver;
  gw: FakeGateway;
  tokenFile: string;
  /** Options that use only this env (HOME points into `dir`, so no real cray config is read). */
  options(extra?: Partial<CrayContextOptions>): CrayContextOptions;
  manifest(artifacts?: unknown[]): string;
  stop(): Promise<void>;
}

export function makeSquashfs(dir: string): string {
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  mkdirSync(join(tree, 'etc/security/limits.d'), { recursive: true });
  writeFileSync(join(tree, 'usr/bin/uai-ssh.sh'), '#!/bin/bash\nexec /usr/sbin/sshd -D\n', { mode: 0o755 });
  writeFileSync(join(tree, 'etc/security/limits.d/99-slingshot-network.conf'), '*  hard  memlock  -1\n');
  // Incompressible data so the image spans many read-ahead windows.
  writeFileSync(join(tree, 'usr/bin/big.bin'), randomBytes(700 * 1024));
  for (let i = 0; i < 50; i++) writeFileSync(join(tree, 'etc', `file-${i}.conf`), `value=${i}\n`.repeat(i + 1));
  symlinkSync('uai-ssh.sh', join(tree, 'usr/bin/entry'));
  const out = join(dir, 'rootfs.squashfs');
  execFileSync('mksquashfs', [tree, out, '-noappend', '-quiet', '-no-progress', '-comp', 'gzip'], { stdio: 'ignore' });
  return out;
}

export async function startCsmEnv(): Promise<CsmEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'uai-csm-'));
  const imagePath = makeSquashfs(dir);
  const image = readFileSync(imagePath);
  const md5 = createHash('md5').update(image).digest('hex');
  const s3 = await startS3rver(['boot-images']);
  const gw = await startFakeGateway();
  gw.stsCredentials = { AccessKeyId: 'S3RVER', SecretAccessKey: 'S3RVER', SessionToken: 'sts-session', EndpointURL: s3.endpoint };
  const manifest = (artifacts?: unknown[]) =>
    JSON.stringify(
      {
        version: '1.0',
        created: '2026-11-25 22:00:00.000000',
        artifacts: artifacts ?? [
          { link: { path: `s3://boot-images/${ROOTFS_KEY}`, etag: 'abc-3', type: 's3' }, type: 'application/vnd.cray.image.rootfs.squashfs', md5 },
          { link: { path: `s3://boot-images/${IMAGE_ID}/kernel`, etag: 'k', type: 's3' }, type: 'application/vnd.cray.image.kernel', md5: '0'.repeat(32) },
        ],
      },
      null,
      4,
    );
  await s3.put('boot-images', ROOTFS_KEY, image);
  await s3.put('boot-images', MANIFEST_KEY, manifest());
  const compute = { path: `s3://boot-images/${MANIFEST_KEY}`, type: 's3', node_roles_groups: ['Compute'], arch: 'X86', rootfs_provider: 'cpss3' };
  gw.templates.set('wlm-sessiontemplate-0.1.0', {
    boot_sets: { computes: compute, uan: { ...compute, node_roles_groups: ['Application'], arch: 'ARM' } },
    enable_cfs: true,
  });
  gw.imsImages.set(IMAGE_ID, { id: IMAGE_ID, name: 'compute-image', arch: 'x86_64', link: { path: `s3://boot-images/${MANIFEST_KEY}`, etag: 'e', type: 's3' } });
  const tokenFile = join(dir, 'token.json');
  writeFileSync(tokenFile, JSON.stringify(gw.tokenJson(3600)), { mode: 0o600 });
  return {
    dir,
    image,
    imagePath,
    md5,
    s3,
    gw,
    tokenFile,
    manifest,
    options: (extra = {}) => ({ apiGateway: gw.url, tokenFile, env: { HOME: dir }, ...extra }),
    async stop() {
      await gw.stop();
      await s3.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads a whole ByteSource in uneven pieces (so reads straddle window edges). */
export async function readAll(source: { size: number; read(o: number, l: number): Promise<Uint8Array> }): Promise<Buffer> {
  const out = Buffer.alloc(source.size);
  let offset = 0;
  let step = 1000;
  while (offset < source.size) {
    const len = Math.min(step, source.size - offset);
    out.set(await source.read(offset, len), offset);
    offset += len;
    step = step * 3 + 7;
    if (step > 300_000) step = 999;
  }
  return out;
}
