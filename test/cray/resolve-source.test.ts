import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveSource } from '../../src/build/resolve-source.ts';
import type { Warning } from '../../src/errors.ts';
import { startS3Gate } from '../support/s3.ts';
import { IMAGE_ID, MANIFEST_KEY, ROOTFS_KEY, readAll, startCsmEnv, type CsmEnv } from './csm-env.ts';

let env: CsmEnv;
beforeAll(async () => {
  env = await startCsmEnv();
});
afterAll(async () => env?.stop());
afterEach(() => {
  env.gw.clearFailures();
  env.gw.bosV1 = true;
  env.gw.bosV2 = true;
  env.gw.stsLifetime = 3600;
  env.gw.stsCredentials.AccessKeyId = 'S3RVER';
  env.gw.stsCredentials.SecretAccessKey = 'S3RVER';
});

async function failure(spec: string, extra: Parameters<CsmEnv['options']>[0] = {}): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  const err = await resolveSource(spec, { cray: env.options(extra) }).then(
    async (r) => {
      await r.source.close();
      return new Error('resolved, but a failure was expected');
    },
    (e: unknown) => e,
  );
  return err as { code: string; message: string; details: Record<string, unknown> };
}

describe('bos:TEMPLATE end to end (fake gateway + s3rver)', () => {
  it('follows template → Compute boot set → manifest → link.path and reads the same bytes as the local file', async () => {
    const before = env.gw.requests.length;
    const r = await resolveSource('bos:wlm-sessiontemplate-0.1.0', { cray: env.options(), readAhead: { windowSize: 64 * 1024 } });
    try {
      expect(r.plan).toMatchObject({ kind: 'bos', bosApi: 'v2', bootSet: 'computes', manifest: `s3://boot-images/${MANIFEST_KEY}`, rootfs: `s3://boot-images/${ROOTFS_KEY}`, md5: env.md5, access: 'in-place' });
      expect(r.declaredArch).toBe('x86_64');
      expect(r.source.size).toBe(env.image.length);
      expect((await readAll(r.source)).equals(env.image)).toBe(true);
      // The superblock magic, for good measure: hsqs.
      expect(Buffer.from(await r.source.read(0, 4)).toString('latin1')).toBe('hsqs');
    } finally {
      await r.source.close();
    }
    const paths = env.gw.requests.slice(before).map((q) => `${q.method} ${q.path}`);
    expect(paths).toContain('GET /apis/bos/v2/sessiontemplates/wlm-sessiontemplate-0.1.0');
    expect(paths).toContain('PUT /apis/sts/token');
    expect(paths.some((p) => p.includes('/bos/v1'))).toBe(false);
    expect(env.gw.requests.slice(before).every((q) => q.authorized && q.tenant === undefined)).toBe(true);
  });

  it('takes the boot set named after #', async () => {
    const r = await resolveSource('bos:wlm-sessiontemplate-0.1.0#uan', { cray: env.options() });
    await r.source.close();
    expect(r.plan?.bootSet).toBe('uan');
    expect(r.declaredArch).toBe('aarch64');
  });

  it('names the missing template, the BOS path and the 404', async () => {
    const err = await failure('bos:no-such-template');
    expect(err.code).toBe('UAI_CRAY_NOT_FOUND');
    expect(err.message).toContain('BOS: GET /apis/bos/v2/sessiontemplates/no-such-template → 404');
    expect(err.details).toMatchObject({ service: 'BOS', status: 404 });
    // v2 exists (its root answered), so there is no v1 fallback.
    expect(env.gw.count('GET', '/apis/bos/v1')).toBe(0);
  });

  it('falls back to BOS v1 only when the v2 API is absent', async () => {
    env.gw.bosV2 = false;
    const r = await resolveSource('bos:wlm-sessiontemplate-0.1.0', { cray: env.options() });
    await r.source.close();
    expect(r.plan?.bosApi).toBe('v1');
    const missing = await failure('bos:nothing-here');
    expect(missing.code).toBe('UAI_CRAY_NOT_FOUND');
    expect(missing.message).toContain('/apis/bos/v1/sessiontemplate/nothing-here → 404');
    const tenant = await failure('bos:wlm-sessiontemplate-0.1.0', { tenant: 'vcluster-a' });
    expect(tenant.code).toBe('UAI_CRAY_UNSUPPORTED');
    expect(tenant.message).toContain('tenant');
  });

  it('lists the boot sets when the choice is ambiguous, or the named one is missing', async () => {
    const set = { path: `s3://boot-images/${MANIFEST_KEY}`, type: 's3', node_roles_groups: ['Compute'] };
    env.gw.templates.set('two-computes', { boot_sets: { a: set, b: set } });
    const err = await failure('bos:two-computes');
    expect(err.code).toBe('UAI_CRAY_BOOT_SET');
    expect(err.message).toMatch(/several Compute boot sets.*a \(roles Compute.*b \(roles Compute/);
    const named = await failure('bos:two-computes#c');
    expect(named.code).toBe('UAI_CRAY_BOOT_SET');
    expect(named.details.bootSets).toEqual(['a', 'b']);
  });

  it('rejects invalid manifests, naming the manifest', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['two-rootfs', env.manifest([
        { link: { path: 's3://boot-images/x/rootfs', type: 's3' }, type: 'application/vnd.cray.image.rootfs.squashfs' },
        { link: { path: 's3://boot-images/y/rootfs', type: 's3' }, type: 'application/vnd.cray.image.rootfs.squashfs' },
      ]), /2 artifacts of type application\/vnd\.cray\.image\.rootfs\.squashfs/],
      ['version', JSON.stringify({ version: '2.0', artifacts: [] }), /version "2.0"/],
      ['not-json', '{"version": "1.0", ', /not JSON/],
      ['too-large', JSON.stringify({ version: '1.0', artifacts: [], pad: 'x'.repeat(1024 * 1024) }), /1048\d+ bytes is more than 1048576/],
      ['bad-path', env.manifest([{ link: { path: '/var/rootfs', type: 's3' }, type: 'application/vnd.cray.image.rootfs.squashfs' }]), /not s3:\/\/BUCKET\/KEY/],
    ];
    for (const [name, body, pattern] of cases) {
      await env.s3.put('boot-images', `bad/${name}/manifest.json`, body);
      env.gw.templates.set(`bad-${name}`, { boot_sets: { compute: { path: `s3://boot-images/bad/${name}/manifest.json`, type: 's3', node_roles_groups: ['Compute'] } } });
      const err = await failure(`bos:bad-${name}`);
      expect(err.code, name).toBe('UAI_CRAY_MANIFEST');
      expect(err.message, name).toContain(`s3://boot-images/bad/${name}/manifest.json`);
      expect(err.message, name).toMatch(pattern);
    }
  });

  it('reports a gateway 401 with the token source (never the token)', async () => {
    const expired = join(env.dir, 'expired-token.json');
    const { access_token } = env.gw.tokenJson(1);
    writeFileSync(expired, JSON.stringify({ access_token }));
    env.gw.revokeTokens();
    const err = await failure('bos:wlm-sessiontemplate-0.1.0', { tokenFile: expired });
    expect(err.code).toBe('UAI_CRAY_AUTH');
    expect(err.message).toContain('401');
    expect(err.message).toContain(expired);
    expect(err.message).not.toContain(String(access_token));
    // The shared token file has a refresh_token: after the 401 it is refreshed once and works.
    const keycloakBefore = env.gw.count('POST', '/keycloak/');
    const r = await resolveSource('bos:wlm-sessiontemplate-0.1.0', { cray: env.options() });
    await r.source.close();
    expect(env.gw.count('POST', '/keycloak/')).toBe(keycloakBefore + 1);
    writeFileSync(env.tokenFile, JSON.stringify(env.gw.tokenJson(3600)));
  });

  it('reports an STS failure with service, path and status', async () => {
    env.gw.fail('PUT', '/apis/sts/token', 503);
    const err = await failure('bos:wlm-sessiontemplate-0.1.0');
    expect(err.code).toBe('UAI_CRAY_STS');
    expect(err.message).toContain('STS: PUT /apis/sts/token → 503');
  });

  it('reports S3 403 (credentials S3 refuses) and 404 (a missing object) naming the object', async () => {
    // s3rver checks the access key id (it does not verify SigV4 signatures).
    env.gw.stsCredentials.AccessKeyId = 'UNKNOWN-KEY';
    env.gw.stsCredentials.SecretAccessKey = 'not-the-secret';
    const denied = await failure('bos:wlm-sessiontemplate-0.1.0');
    expect(denied.code).toBe('UAI_SOURCE_DENIED');
    expect(denied.message).toContain(`s3://boot-images/${MANIFEST_KEY}`);
    expect(denied.message).toContain('403');
    expect(denied.message).not.toContain('not-the-secret');
    env.gw.stsCredentials.AccessKeyId = 'S3RVER';
    env.gw.templates.set('no-manifest', { boot_sets: { compute: { path: 's3://boot-images/gone/manifest.json', type: 's3' } } });
    const missing = await failure('bos:no-manifest');
    expect(missing.code).toBe('UAI_SOURCE_NOT_FOUND');
    expect(missing.message).toContain('s3://boot-images/gone/manifest.json');
    await env.s3.put('boot-images', 'dangling/manifest.json', env.manifest([{ link: { path: 's3://boot-images/dangling/rootfs', type: 's3' }, type: 'application/vnd.cray.image.rootfs.squashfs' }]));
    env.gw.templates.set('dangling', { boot_sets: { compute: { path: 's3://boot-images/dangling/manifest.json', type: 's3' } } });
    const noRootfs = await failure('bos:dangling');
    expect(noRootfs.code).toBe('UAI_SOURCE_NOT_FOUND');
    expect(noRootfs.message).toContain('s3://boot-images/dangling/rootfs: HEAD: S3 404');
  });

  it('renews STS credentials that expire during a read', async () => {
    env.gw.stsLifetime = 3600;
    const before = env.gw.count('PUT', '/apis/sts/token');
    const steady = await resolveSource('bos:wlm-sessiontemplate-0.1.0', { cray: env.options(), readAhead: { windowSize: 32 * 1024, readAhead: 0 } });
    expect((await readAll(steady.source)).equals(env.image)).toBe(true);
    await steady.source.close();
    expect(env.gw.count('PUT', '/apis/sts/token') - before).toBe(1);

    // Credentials that expire within the refresh margin: every S3 request needs new ones.
    env.gw.stsLifetime = 20;
    const mid = env.gw.count('PUT', '/apis/sts/token');
    const short = await resolveSource('bos:wlm-sessiontemplate-0.1.0', { cray: env.options({ s3RefreshMarginMs: 60_000 }), readAhead: { windowSize: 32 * 1024, readAhead: 0 } });
    const afterOpen = env.gw.count('PUT', '/apis/sts/token');
    expect((await readAll(short.source)).equals(env.image)).toBe(true);
    await short.source.close();
    expect(afterOpen - mid).toBeGreaterThanOrEqual(1);
    expect(env.gw.count('PUT', '/apis/sts/token')).toBeGreaterThan(afterOpen + 5);
  });

  it('resolves ims:ID through the IMS record and s3://BUCKET/KEY directly', async () => {
    const ims = await resolveSource(`ims:${IMAGE_ID}`, { cray: env.options() });
    expect(ims.plan).toMatchObject({ kind: 'ims', imageId: IMAGE_ID, imageName: 'compute-image', rootfs: `s3://boot-images/${ROOTFS_KEY}` });
    expect(ims.declaredArch).toBe('x86_64');
    expect(Buffer.from(await ims.source.read(100, 5000)).equals(env.image.subarray(100, 5100))).toBe(true);
    await ims.source.close();
    const missing = await failure('ims:00000000-0000-0000-0000-000000000000');
    expect(missing.code).toBe('UAI_CRAY_NOT_FOUND');
    expect(missing.message).toContain('IMS: GET /apis/ims/v3/images/00000000-0000-0000-0000-000000000000 → 404');
    const s3 = await resolveSource(`s3://boot-images/${ROOTFS_KEY}`, { cray: env.options() });
    expect((await readAll(s3.source)).equals(env.image)).toBe(true);
    await s3.source.close();
  });

  it('reads s3:// with --s3-endpoint and the AWS environment, without STS', async () => {
    const before = env.gw.count('PUT', '/apis/sts/token');
    const r = await resolveSource(`s3://boot-images/${ROOTFS_KEY}`, {
      cray: { s3Endpoint: env.s3.endpoint, env: { HOME: env.dir, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } },
    });
    expect(Buffer.from(await r.source.read(0, 4)).toString('latin1')).toBe('hsqs');
    await r.source.close();
    expect(env.gw.count('PUT', '/apis/sts/token')).toBe(before);
  });

  it('--download copies the rootfs and checks the manifest md5', async () => {
    const target = join(env.dir, 'downloaded.squashfs');
    const r = await resolveSource('bos:wlm-sessiontemplate-0.1.0', { cray: env.options(), download: target });
    expect(r.plan).toMatchObject({ access: 'download', download: target });
    expect(readFileSync(target).equals(env.image)).toBe(true);
    expect((await readAll(r.source)).equals(env.image)).toBe(true);
    await r.source.close();

    await env.s3.put('boot-images', 'badsum/manifest.json', env.manifest([{ link: { path: `s3://boot-images/${ROOTFS_KEY}`, type: 's3' }, type: 'application/vnd.cray.image.rootfs.squashfs', md5: 'f'.repeat(32) }]));
    env.gw.templates.set('badsum', { boot_sets: { compute: { path: 's3://boot-images/badsum/manifest.json', type: 's3' } } });
    const bad = join(env.dir, 'bad.squashfs');
    const err = await resolveSource('bos:badsum', { cray: env.options(), download: bad }).catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'UAI_CRAY_CHECKSUM' });
    expect((err as unknown as Error).message).toContain('f'.repeat(32));
    expect(existsSync(bad)).toBe(false);
    expect(existsSync(`${bad}.partial`)).toBe(false);
  });

  it('--download without a manifest md5 checks a single-part ETag instead', async () => {
    const warnings: Warning[] = [];
    const target = join(env.dir, 'by-etag.squashfs');
    const r = await resolveSource(`s3://boot-images/${ROOTFS_KEY}`, { cray: env.options({ onWarning: (w) => warnings.push(w) }), download: target });
    await r.source.close();
    expect(readFileSync(target).equals(env.image)).toBe(true);
    expect(warnings.map((w) => w.code)).not.toContain('UAI_CRAY_NO_MD5');
    // Through a front that reports other ETags: a multipart one is no checksum (warned,
    // unverified); a wrong MD5 fails the download.
    const gate = await startS3Gate(env.s3.endpoint, () => undefined);
    env.gw.stsCredentials.EndpointURL = gate.endpoint;
    try {
      gate.etags.set(`/boot-images/${ROOTFS_KEY}`, `${'a'.repeat(32)}-2`);
      const multipartWarnings: Warning[] = [];
      const m = await resolveSource(`s3://boot-images/${ROOTFS_KEY}`, {
        cray: env.options({ onWarning: (w) => multipartWarnings.push(w) }),
        download: join(env.dir, 'multipart.squashfs'),
      });
      await m.source.close();
      expect(readFileSync(join(env.dir, 'multipart.squashfs')).equals(env.image)).toBe(true);
      expect(multipartWarnings.map((w) => w.code)).toContain('UAI_CRAY_NO_MD5');

      gate.etags.set(`/boot-images/${ROOTFS_KEY}`, 'b'.repeat(32));
      const err = await resolveSource(`s3://boot-images/${ROOTFS_KEY}`, { cray: env.options(), download: join(env.dir, 'wrong.squashfs') }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UAI_CRAY_CHECKSUM' });
      expect(existsSync(join(env.dir, 'wrong.squashfs'))).toBe(false);
    } finally {
      env.gw.stsCredentials.EndpointURL = env.s3.endpoint;
      await gate.stop();
    }
  });

  it('sends Cray-Tenant-Name, and a tenant sees only its templates', async () => {
    env.gw.templates.set('tenant-a-template', { tenant: 'vcluster-a', boot_sets: { compute: { path: `s3://boot-images/${MANIFEST_KEY}`, type: 's3' } } });
    const before = env.gw.requests.length;
    const r = await resolveSource('bos:tenant-a-template', { cray: env.options({ tenant: 'vcluster-a' }) });
    await r.source.close();
    expect(env.gw.requests.slice(before).filter((q) => q.path.startsWith('/apis/')).every((q) => q.tenant === 'vcluster-a')).toBe(true);
    const other = await failure('bos:tenant-a-template', { tenant: 'vcluster-b' });
    expect(other.code).toBe('UAI_CRAY_NOT_FOUND');
    expect(other.message).toContain("tenant 'vcluster-b'");
  });

  it('warns when the manifest ETag differs from the boot set etag', async () => {
    env.gw.templates.set('etag-template', { boot_sets: { compute: { path: `s3://boot-images/${MANIFEST_KEY}`, type: 's3', etag: 'd54782b3853a2d8713a597d80286b93e' } } });
    const warnings: Warning[] = [];
    const r = await resolveSource('bos:etag-template', { cray: env.options({ onWarning: (w) => warnings.push(w) }) });
    await r.source.close();
    expect(warnings.map((w) => w.code)).toContain('UAI_CRAY_ETAG_MISMATCH');
  });
});
