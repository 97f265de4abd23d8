/**
 * TLS everywhere a real system has it: an https S3 endpoint (s3rver with a private
 * certificate, as STS's EndpointURL) and an https rootfs server, trusted only through
 * --ca-file; without it, a clear certificate error.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSource } from '../../src/build/resolve-source.ts';
import { startFakeGateway, type FakeGateway } from '../support/fake-gateway.ts';
import { startS3rver, type S3rver } from '../support/s3.ts';
import { makeSquashfs, readAll } from './csm-env.ts';

let dir: string;
let key: string;
let cert: string;
let image: Buffer;
let s3: S3rver;
let gw: FakeGateway;
let web: Server;
let webUrl: string;
let tokenFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uai-tls-'));
  key = join(dir, 'server.key');
  cert = join(dir, 'server.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=rgw-vip.local', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  image = readFileSync(makeSquashfs(dir));
  s3 = await startS3rver(['boot-images'], { tls: { key, cert } });
  await s3.put('boot-images', 'tls/rootfs', image);
  gw = await startFakeGateway({ tls: { key: readFileSync(key), cert: readFileSync(cert) } });
  gw.stsCredentials = { AccessKeyId: 'S3RVER', SecretAccessKey: 'S3RVER', SessionToken: 't', EndpointURL: s3.endpoint };
  tokenFile = join(dir, 'token.json');
  writeFileSync(tokenFile, JSON.stringify(gw.tokenJson(3600)));
  web = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m) {
      res.writeHead(200);
      return void res.end(image);
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), image.length - 1);
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${image.length}` });
    res.end(image.subarray(start, end + 1));
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webUrl = `https://127.0.0.1:${(web.address() as AddressInfo).port}/images/rootfs.squashfs`;
});

afterAll(async () => {
  web?.closeAllConnections();
  await new Promise((r) => web?.close(r));
  await gw?.stop();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS with a private CA', () => {
  it('reads s3:// over https from STS’s EndpointURL when --ca-file trusts it', async () => {
    const r = await resolveSource('s3://boot-images/tls/rootfs', { cray: { apiGateway: gw.url, tokenFile, caFile: cert, env: { HOME: dir } } });
    expect((await readAll(r.source)).equals(image)).toBe(true);
    await r.source.close();
  });

  it('fails on the gateway certificate without --ca-file, naming the fix', async () => {
    const err = await resolveSource('s3://boot-images/tls/rootfs', { cray: { apiGateway: gw.url, tokenFile, env: { HOME: dir } } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UAI_CRAY_CONNECT' });
    expect((err as Error).message).toContain('--ca-file');
  });

  it('fails on an untrusted S3 certificate, naming the fix', async () => {
    // --s3-endpoint without a CA: the gateway is not used, S3 is https with an unknown CA.
    const err = await resolveSource('s3://boot-images/tls/rootfs', {
      cray: { s3Endpoint: s3.endpoint, env: { HOME: dir, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UAI_SOURCE_HTTP' });
    expect((err as Error).message).toMatch(/s3:\/\/boot-images\/tls\/rootfs: HEAD: .*(certificate|self.signed)/i);
    expect((err as Error).message).toContain('--ca-file');
  });

  it('reads an https:// rootfs with --ca-file, and refuses it without', async () => {
    const r = await resolveSource(webUrl, { cray: { caFile: cert } });
    expect((await readAll(r.source)).equals(image)).toBe(true);
    await r.source.close();
    const err = await resolveSource(webUrl).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UAI_SOURCE_HTTP' });
    expect((err as Error).message).toContain('--ca-file');
  });
});
