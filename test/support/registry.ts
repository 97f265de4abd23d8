/**
 * Starts Debian's real `docker-registry` (CNCF distribution 2.8) on 127.0.0.1 for tests.
 *
 *   const reg = await startRegistry({ mode: 'plain' });      // http, no auth
 *   const reg = await startRegistry({ mode: 'tls-basic' });  // https (private CA) + htpasswd
 *   const reg = await startRegistry({ mode: 'token' });      // http + Bearer tokens from a Node token server
 *   new RegistryClient(reg.host, { caFile: reg.caFile, creds: reg.creds });
 *   await reg.stop();
 *
 * Each registry gets its own temp dir (config, storage, certificates), a port chosen by
 * the OS, and `delete: enabled`. `skopeoArgs` are the flags skopeo needs to reach it.
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { createSign, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePki, makeSelfSigned, type Pki } from './pki.ts';
import { spawnTied } from './process.ts';

export type RegistryMode = 'plain' | 'tls-basic' | 'token';

export interface StartRegistryOptions {
  mode: RegistryMode;
  /** `http.relativeurls`: the registry sends relative Location headers. */
  relativeUrls?: boolean;
  /** tls-basic only: a self-signed server certificate no CA file vouches for. */
  selfSigned?: boolean;
  /** tls-basic only: require a client certificate signed by the CA (`http.tls.clientcas`); `clientCertDir` then holds ca.crt + client.cert + client.key. */
  clientCerts?: boolean;
  /** token only: the token server's reply (default `{ token, expires_in: 300 }`). */
  token?: { field?: 'token' | 'access_token'; expiresIn?: number; pullOnly?: boolean };
  /** Where the registry's temp dir (config, storage) goes; default `os.tmpdir()`. The benchmarks use /dev/shm. */
  baseDir?: string;
}

export interface TokenServer {
  url: string;
  /** Token requests seen: the scopes asked for and whether the credentials were right. */
  requests: Array<{ scopes: string[]; service: string | null; authorized: boolean }>;
}

export interface TestRegistry {
  mode: RegistryMode;
  /** `127.0.0.1:PORT`: what RegistryClient and skopeo take. */
  host: string;
  /** `http://127.0.0.1:PORT` or `https://…`. */
  url: string;
  /** The CA that signed the server certificate (tls-basic). */
  caFile?: string;
  /** A podman-layout cert dir with that CA as `ca.crt` (tls-basic). */
  certDir?: string;
  /** With `clientCerts`: a cert dir with `ca.crt`, `client.cert` and `client.key`. */
  clientCertDir?: string;
  /** The one user the registry (or token server) accepts. */
  creds?: { username: string; password: string };
  tokenServer?: TokenServer;
  pki?: Pki;
  /** Flags for `skopeo inspect/copy` to reach this registry. */
  skopeoArgs: string[];
  dir: string;
  /** The docker-registry process. */
  pid: number;
  stop(): Promise<void>;
}

export { spawnTied } from './process.ts';

const USER = 'tester';
const PASSWORD = 's3cret-Pa55word';

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function yaml(lines: Array<string | false>): string {
  return lines.filter((l): l is string => l !== false).join('\n') + '\n';
}

function probe(url: string, client?: { cert: string; key: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const tlsOptions = client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) };
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(`${url}/v2/`, { method: 'GET', rejectUnauthorized: false, timeout: 2000, ...tlsOptions }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function waitUntilUp(url: string, child: ChildProcess, stderr: () => string, client?: { cert: string; key: string }): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr()}`);
    try {
      await probe(url, client);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`docker-registry did not answer on ${url}: ${stderr()}`);
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A token server the registry trusts: ES256 JWTs with an `x5c` chain to rootcertbundle. */
async function startTokenServer(
  signing: { cert: string; key: string },
  service: string,
  issuer: string,
  options: NonNullable<StartRegistryOptions['token']>,
): Promise<{ server: Server; info: TokenServer }> {
  const certPem = readFileSync(signing.cert, 'utf8');
  const keyPem = readFileSync(signing.key, 'utf8');
  const x5c = [new X509Certificate(certPem).raw.toString('base64')];
  const requests: TokenServer['requests'] = [];
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const authorized = req.headers.authorization === expected;
    requests.push({ scopes, service: url.searchParams.get('service'), authorized });
    if (url.pathname !== '/token' || !authorized) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="token"' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop() ?? '';
      const granted = actions.split(',').filter((a) => a !== '' && (options.pullOnly !== true || a === 'pull'));
      return type === 'repository' ? [{ type, name: rest.join(':'), actions: granted }] : [];
    });
    const header = { typ: 'JWT', alg: 'ES256', x5c };
    const claims = { iss: issuer, sub: USER, aud: service, exp: now + 600, nbf: now - 10, iat: now, jti: `${now}-${requests.length}`, access };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = createSign('SHA256').update(input).sign({ key: keyPem, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${base64url(signature)}`;
    const body: Record<string, unknown> = { [options.field ?? 'token']: token, issued_at: new Date().toISOString() };
    if (options.expiresIn !== undefined) body['expires_in'] = options.expiresIn;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, info: { url: `http://127.0.0.1:${port}/token`, requests } };
}

export async function startRegistry(options: StartRegistryOptions): Promise<TestRegistry> {
  const dir = mkdtempSync(join(options.baseDir ?? tmpdir(), `uai-registry-${options.mode}-`));
  const tls = options.mode === 'tls-basic';
  let pki: Pki | undefined;
  let serverCert: { cert: string; key: string } | undefined;
  let htpasswd: string | undefined;
  let token: { server: Server; info: TokenServer } | undefined;
  let tokenBundle: string | undefined;
  const service = 'uai-test-registry';
  const issuer = 'uai-test-token-issuer';

  if (tls || options.mode === 'token') pki = makePki(join(dir, 'pki'));
  let clientCertDir: string | undefined;
  if (tls && options.clientCerts === true) {
    const client = pki!.issue('client', 'clientAuth');
    clientCertDir = join(dir, 'client-certs.d');
    mkdirSync(clientCertDir);
    copyFileSync(pki!.caFile, join(clientCertDir, 'ca.crt'));
    copyFileSync(client.cert, join(clientCertDir, 'client.cert'));
    copyFileSync(client.key, join(clientCertDir, 'client.key'));
  }
  if (tls) {
    serverCert = options.selfSigned ? makeSelfSigned(join(dir, 'self'), 'self') : { cert: pki!.serverCert, key: pki!.serverKey };
    htpasswd = join(dir, 'htpasswd');
    writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', USER, PASSWORD]));
  }
  if (options.mode === 'token') {
    const signing = pki!.issue('token-signer');
    tokenBundle = pki!.caFile;
    token = await startTokenServer(signing, service, issuer, options.token ?? { expiresIn: 300 });
  }

  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'config.yml');
    writeFileSync(
      config,
      yaml([
        'version: 0.1',
        'log:',
        '  level: error',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(dir, 'storage')}`,
        '  delete:',
        '    enabled: true',
        '  maintenance:',
        '    uploadpurging:',
        '      enabled: false',
        'http:',
        `  addr: 127.0.0.1:${port}`,
        '  secret: uai-test-secret',
        options.relativeUrls === true && '  relativeurls: true',
        tls && '  tls:',
        tls && `    certificate: ${serverCert!.cert}`,
        tls && `    key: ${serverCert!.key}`,
        tls && options.clientCerts === true && '    clientcas:',
        tls && options.clientCerts === true && `      - ${pki!.caFile}`,
        htpasswd !== undefined && 'auth:',
        htpasswd !== undefined && '  htpasswd:',
        htpasswd !== undefined && '    realm: uai-test-registry',
        htpasswd !== undefined && `    path: ${htpasswd}`,
        token !== undefined && 'auth:',
        token !== undefined && '  token:',
        token !== undefined && `    realm: ${token.info.url}`,
        token !== undefined && `    service: ${service}`,
        token !== undefined && `    issuer: ${issuer}`,
        token !== undefined && `    rootcertbundle: ${tokenBundle}`,
      ]),
    );
    // If the test process ends without stop() (even killed), the registry must not outlive it.
    const child = spawnTied('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    try {
      await waitUntilUp(
        url,
        child,
        () => stderr,
        clientCertDir === undefined ? undefined : { cert: join(clientCertDir, 'client.cert'), key: join(clientCertDir, 'client.key') },
      );
    } catch (err) {
      child.kill('SIGKILL');
      if (attempt < 3 && /address already in use/i.test(stderr)) continue;
      token?.server.close();
      throw err;
    }
    const host = `127.0.0.1:${port}`;
    const creds = options.mode === 'plain' ? undefined : { username: USER, password: PASSWORD };
    const skopeoArgs = tls
      ? options.selfSigned
        ? ['--tls-verify=false']
        : [`--cert-dir=${clientCertDir ?? pki!.certDir}`]
      : ['--tls-verify=false'];
    if (creds !== undefined) skopeoArgs.push(`--creds=${creds.username}:${creds.password}`);
    return {
      mode: options.mode,
      host,
      url,
      ...(tls && !options.selfSigned ? { caFile: pki!.caFile, certDir: pki!.certDir } : {}),
      ...(clientCertDir === undefined ? {} : { clientCertDir }),
      ...(creds === undefined ? {} : { creds }),
      ...(token === undefined ? {} : { tokenServer: token.info }),
      ...(pki === undefined ? {} : { pki }),
      skopeoArgs,
      dir,
      pid: child.pid!,
      stop: async () => {
        if (child.exitCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
          if (child.exitCode === null) child.kill('SIGKILL');
        }
        if (token !== undefined) await new Promise<void>((resolve) => token.server.close(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/**
 * Runs skopeo; resolves with stdout (rejects with stderr). Asynchronous on purpose: the
 * token server lives in the test process and must keep answering while skopeo runs.
 */
export function skopeo(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('skopeo', args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`skopeo ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}
