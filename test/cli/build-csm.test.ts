/**
 * `uai-assemble build ims:ID … --register --default`: the whole CSM procedure in one
 * command, against the fake CSM gateway, a real s3rver and the real docker-registry.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
import { tagsOf } from '../build/registry-images.ts';
import { makeTinyRootfs, type TinyRootfs } from '../build/tiny-rootfs.ts';
import { IMAGE_ID, startCsmEnv, type CsmEnv } from '../cray/csm-env.ts';

let csm: CsmEnv;
let reg: TestRegistry;
/** An x86-64 rootfs (/bin/sh is an x86-64 ELF) behind the BOS template `x86-template`, whose `uan` boot set says ARM. */
let x86: TinyRootfs;
const X86_TEMPLATE = 'x86-template';

beforeAll(async () => {
  csm = await startCsmEnv();
  reg = await startRegistry({ mode: 'plain' });
  x86 = makeTinyRootfs({ files: { 'etc/motd': 'from S3\n' } });
  const bytes = readFileSync(x86.image);
  const md5 = createHash('md5').update(bytes).digest('hex');
  await csm.s3.put('boot-images', 'x86/rootfs.squashfs', bytes);
  await csm.s3.put(
    'boot-images',
    'x86/manifest.json',
    csm.manifest([{ link: { path: 's3://boot-images/x86/rootfs.squashfs', etag: 'x', type: 's3' }, type: 'application/vnd.cray.image.rootfs.squashfs', md5 }]),
  );
  const computes = { path: 's3://boot-images/x86/manifest.json', type: 's3', node_roles_groups: ['Compute'], arch: 'X86', rootfs_provider: 'cpss3' };
  csm.gw.templates.set(X86_TEMPLATE, { boot_sets: { computes, uan: { ...computes, node_roles_groups: ['Application'], arch: 'ARM' } }, enable_cfs: true });
});
afterAll(async () => {
  await reg?.stop();
  await csm?.stop();
  x86?.cleanup();
});

function manifestDigestOf(ref: string): string {
  return JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', ref], { encoding: 'utf8' })).Digest;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [resolve('src/cli/main.ts'), 'build', ...args],
      { env: { PATH: process.env.PATH, HOME: csm.dir } },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('uai-assemble build from BOS / IMS, registered with UAS', () => {
  it('issue 5: bos:TEMPLATE → the rootfs read from S3 in place, pushed, HOST/REPO:TAG registered as the default', async () => {
    const gateway = ['--api-gateway', csm.gw.url, '--token', csm.tokenFile];
    const r = await cli(['bos:wlm-sessiontemplate-0.1.0', `docker://${reg.host}/cray/custom-uai:1.0`, '--register', '--default', '--quiet', ...gateway]);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^${reg.host}/cray/custom-uai@sha256:[0-9a-f]{64}$`));
    // The test rootfs has no /bin/sh: the boot set's arch is used, with a warning.
    expect(r.stderr).toContain('warning:');
    expect(r.stderr).toContain('registered with UAS');
    expect(await tagsOf(reg.url, 'cray/custom-uai')).toEqual(['1.0']);
    expect(csm.gw.uasImages).toContainEqual(expect.objectContaining({ imagename: `${reg.host}/cray/custom-uai:1.0`, default: true }));
    const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/cray/custom-uai:1.0`], { encoding: 'utf8' }));
    const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${reg.host}/cray/custom-uai:1.0`], { encoding: 'utf8' }));
    expect(config.architecture).toBe('amd64');
    // Nothing in the published image names where it was read from.
    for (const text of [JSON.stringify(raw), JSON.stringify(config)]) {
      expect(text).not.toContain(IMAGE_ID);
      expect(text).not.toContain('wlm-sessiontemplate');
      expect(text).not.toContain('boot-images');
    }
    // The same SquashFS built from the local file (the arch given, as it has no /bin/sh) is the same image.
    const local = await cli([csm.imagePath, `docker://${reg.host}/cray/custom-uai:local`, '--arch', 'amd64', '--quiet']);
    expect(local.code).toBe(0);
    expect(manifestDigestOf(`docker://${reg.host}/cray/custom-uai:local`)).toBe(manifestDigestOf(`docker://${reg.host}/cray/custom-uai:1.0`));
  });

  it('bos:, ims: and the local file publish the same manifest digest', async () => {
    const gateway = ['--api-gateway', csm.gw.url, '--token', csm.tokenFile];
    const fromBos = await cli([`bos:${X86_TEMPLATE}`, `docker://${reg.host}/cray/same:bos`, '--quiet', ...gateway]);
    expect(fromBos.stderr).toBe('');
    expect(fromBos.code).toBe(0);
    const fromFile = await cli([x86.image, `docker://${reg.host}/cray/same:file`, '--quiet']);
    expect(fromFile.code).toBe(0);
    const bosDigest = fromBos.stdout.trim().split('@')[1];
    expect(bosDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(fromFile.stdout.trim().split('@')[1]).toBe(bosDigest);
    expect(manifestDigestOf(`docker://${reg.host}/cray/same:file`)).toBe(bosDigest);
    const fromIms = await cli([`ims:${IMAGE_ID}`, `docker://${reg.host}/cray/same-ims:ims`, '--quiet', ...gateway]);
    expect(fromIms.code).toBe(0);
    const imsFile = await cli([csm.imagePath, `docker://${reg.host}/cray/same-ims:file`, '--arch', 'amd64', '--quiet']);
    expect(imsFile.code).toBe(0);
    expect(manifestDigestOf(`docker://${reg.host}/cray/same-ims:ims`)).toBe(manifestDigestOf(`docker://${reg.host}/cray/same-ims:file`));
  });

  it('--register without a registry destination is a usage error', async () => {
    const r = await cli([`ims:${IMAGE_ID}`, 'oci:/tmp/never-written', '--register', '--api-gateway', csm.gw.url, '--token', csm.tokenFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--register needs a docker:// destination');
  });

  it('a boot set that declares ARM for an x86-64 image: UAI_IMAGE_ARCH_MISMATCH naming both, nothing pushed; --arch overrides with a warning', async () => {
    const gateway = ['--api-gateway', csm.gw.url, '--token', csm.tokenFile];
    const r = await cli([`bos:${X86_TEMPLATE}#uan`, `docker://${reg.host}/cray/wrong-arch:1`, '--quiet', ...gateway]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UAI_IMAGE_ARCH_MISMATCH');
    expect(r.stderr).toContain('aarch64');
    expect(r.stderr).toContain('amd64');
    expect(r.stdout).toBe('');
    expect(await tagsOf(reg.url, 'cray/wrong-arch')).toEqual([]);

    const forced = await cli([`bos:${X86_TEMPLATE}#uan`, `docker://${reg.host}/cray/wrong-arch:2`, '--arch', 'amd64', '--quiet', ...gateway]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('warning:');
    expect(forced.stderr).toContain('as --arch says');
    expect(await tagsOf(reg.url, 'cray/wrong-arch')).toEqual(['2']);
  });

  it('--dry-run bos:TEMPLATE resolves template, boot set, manifest, rootfs key and size, arch and uai-ssh.sh, checks the registry, writes nothing', async () => {
    const gateway = ['--api-gateway', csm.gw.url, '--token', csm.tokenFile];
    const r = await cli([`bos:${X86_TEMPLATE}`, `docker://${reg.host}/cray/dry-bos:1`, '--register', '--dry-run', '--json', ...gateway]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan).toMatchObject({
      dryRun: true,
      plan: {
        kind: 'bos',
        template: X86_TEMPLATE,
        bootSet: 'computes',
        manifest: 's3://boot-images/x86/manifest.json',
        rootfs: 's3://boot-images/x86/rootfs.squashfs',
        access: 'in-place',
        size: readFileSync(x86.image).length,
      },
      declaredArch: 'x86_64',
      architecture: 'amd64',
      platformFrom: 'elf',
      uaiSsh: 'image',
      destinations: [{ description: `${reg.host}/cray/dry-bos:1`, check: 'access-ok' }],
      register: [`${reg.host}/cray/dry-bos:1`],
    });
    expect(await tagsOf(reg.url, 'cray/dry-bos')).toEqual([]);
    expect(csm.gw.uasImages).not.toContainEqual(expect.objectContaining({ imagename: `${reg.host}/cray/dry-bos:1` }));

    const human = await cli([`bos:${X86_TEMPLATE}`, `docker://${reg.host}/cray/dry-bos:1`, '--dry-run', ...gateway]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^bos template +x86-template boot set computes/m);
    expect(human.stdout).toMatch(/^rootfs +s3:\/\/boot-images\/x86\/rootfs\.squashfs/m);

    const wrong = await cli([`bos:${X86_TEMPLATE}#uan`, `docker://${reg.host}/cray/dry-bos:1`, '--dry-run', ...gateway]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('UAI_IMAGE_ARCH_MISMATCH');
    expect(wrong.stdout).toBe('');
  });
});

describe('uai-assemble build --register when UAS fails', () => {
  const gateway = () => ['--api-gateway', csm.gw.url, '--token', csm.tokenFile];

  it('checks UAS before publishing: a UAS outage leaves no tag', async () => {
    csm.gw.fail('GET', '/apis/uas-mgr/v1/admin/config/images', 500);
    try {
      const r = await cli(['bos:wlm-sessiontemplate-0.1.0', `docker://${reg.host}/cray/uas-down:1`, '--register', '--quiet', ...gateway()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('UAS');
      expect(r.stderr).toContain('500');
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(await tagsOf(reg.url, 'cray/uas-down')).toEqual([]);
    } finally {
      csm.gw.clearFailures();
    }
  });

  it('a registration refused after the push says the image is pushed and how to register it later', async () => {
    csm.gw.fail('POST', '/apis/uas-mgr/v1/admin/config/images', 500);
    try {
      const r = await cli(['bos:wlm-sessiontemplate-0.1.0', `docker://${reg.host}/cray/uas-post:1`, '--register', '--quiet', ...gateway()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${reg.host}/cray/uas-post:1 was pushed, but registering it with UAS failed`);
      expect(r.stderr).toContain(`uai-assemble register ${reg.host}/cray/uas-post:1`);
      expect(await tagsOf(reg.url, 'cray/uas-post')).toEqual(['1']);
      expect(csm.gw.uasImages).not.toContainEqual(expect.objectContaining({ imagename: `${reg.host}/cray/uas-post:1` }));
    } finally {
      csm.gw.clearFailures();
    }
  });
});
