/**
 * TLS settings for one registry host, the podman/skopeo way: verify by default; a
 * `certDir` (`*.crt` CA files, `*.cert` + `*.key` client pairs), defaulting to
 * /etc/containers/certs.d/HOST[:PORT] and /etc/docker/certs.d/HOST[:PORT] when present;
 * a `caFile`; NODE_EXTRA_CA_CERTS. Extra CAs are added to the system roots, never
 * replace them. Plain HTTP is allowed only for loopback hosts or with `tlsVerify: false`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getCACertificates, rootCertificates } from 'node:tls';
import { RegistryError } from './errors.ts';

export interface TlsOptions {
  tlsVerify?: boolean;
  certDir?: string;
  caFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Where per-host cert dirs are looked for when `certDir` is not given (tests change it). */
  certDirRoots?: readonly string[];
}

export const DEFAULT_CERT_DIR_ROOTS: readonly string[] = ['/etc/containers/certs.d', '/etc/docker/certs.d'];

/** What undici's `connect` option receives (node:tls ConnectionOptions subset). */
export interface TlsConnectOptions {
  rejectUnauthorized: boolean;
  ca?: string[];
  cert?: string;
  key?: string;
}

export interface TlsSettings {
  connect: TlsConnectOptions;
  /** May fall back to http:// when the server does not speak TLS. */
  allowPlainHttp: boolean;
  /** The files used, for messages (never their contents). */
  sources: string[];
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** The host part of `host[:port]` (brackets kept off for IPv6). */
export function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(hostnameOf(host).toLowerCase());
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new RegistryError('UAI_REGISTRY_CONFIG', `cannot read ${what} ${path}: ${(err as Error).message}`, {
      cause: err,
      details: { path },
    });
  }
}

function systemRoots(): string[] {
  const roots = new Set<string>(rootCertificates);
  try {
    for (const cert of getCACertificates('system')) roots.add(cert);
  } catch {
    // older Node or no system store: the bundled roots stay
  }
  return [...roots];
}

/** The TLS settings for `host` (`host[:port]`). Throws UAI_REGISTRY_CONFIG for unreadable files. */
export function tlsSettings(host: string, options: TlsOptions = {}): TlsSettings {
  const env = options.env ?? process.env;
  const verify = options.tlsVerify !== false;
  const extraCas: string[] = [];
  const sources: string[] = [];
  let cert: string | undefined;
  let key: string | undefined;

  const dirs =
    options.certDir !== undefined
      ? [options.certDir]
      : (options.certDirRoots ?? DEFAULT_CERT_DIR_ROOTS).map((root) => join(root, host)).filter((d) => existsSync(d));
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      throw new RegistryError('UAI_REGISTRY_CONFIG', `cannot read cert dir ${dir}: ${(err as Error).message}`, {
        cause: err,
        details: { path: dir },
      });
    }
    for (const name of names) {
      const path = join(dir, name);
      if (name.endsWith('.crt')) {
        extraCas.push(readText(path, 'CA file'));
        sources.push(path);
      } else if (name.endsWith('.cert')) {
        const keyPath = join(dir, `${name.slice(0, -'.cert'.length)}.key`);
        if (!existsSync(keyPath)) {
          throw new RegistryError('UAI_REGISTRY_CONFIG', `client certificate ${path} has no matching key ${keyPath}`, {
            details: { path },
          });
        }
        cert = readText(path, 'client certificate');
        key = readText(keyPath, 'client key');
        sources.push(path, keyPath);
      }
    }
  }
  if (options.caFile !== undefined) {
    extraCas.push(readText(options.caFile, 'CA file'));
    sources.push(options.caFile);
  }
  // Node reads NODE_EXTRA_CA_CERTS at start-up; read it here too so that an `env`
  // option (or a variable set later) is honoured.
  const extraEnv = env['NODE_EXTRA_CA_CERTS'];
  if (extraEnv !== undefined && extraEnv !== '' && existsSync(extraEnv)) {
    extraCas.push(readText(extraEnv, 'NODE_EXTRA_CA_CERTS file'));
    sources.push(extraEnv);
  }

  const connect: TlsConnectOptions = { rejectUnauthorized: verify };
  if (extraCas.length > 0) connect.ca = [...systemRoots(), ...extraCas];
  if (cert !== undefined && key !== undefined) {
    connect.cert = cert;
    connect.key = key;
  }
  return { connect, allowPlainHttp: !verify || isLoopback(host), sources };
}

const TLS_CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur instanceof Error; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    cur = (cur as { cause?: unknown }).cause;
  }
  return codes;
}

const NOT_TLS_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_UNKNOWN_PROTOCOL', 'ERR_SSL_HTTP_REQUEST']);
const NOT_TLS_MESSAGE = /wrong version number|packet length too long|unknown protocol/i;

function messages(err: unknown): string {
  const out: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur instanceof Error; depth++) {
    out.push(cur.message);
    cur = (cur as { cause?: unknown }).cause;
  }
  return out.join(' ');
}

/** The server does not speak TLS at all (a plain-HTTP registry reached over https). */
export function isTlsProtocolError(err: unknown): boolean {
  const codes = errorCodes(err);
  if (codes.some((c) => NOT_TLS_CODES.has(c))) return true;
  return codes.some((c) => c === 'EPROTO' || c.startsWith('ERR_SSL_')) && NOT_TLS_MESSAGE.test(messages(err));
}

/**
 * A TLS failure other than "not a TLS server": an untrusted or mismatched certificate,
 * a handshake alert (e.g. the server wants a client certificate), a protocol mismatch.
 */
export function isCertificateError(err: unknown): boolean {
  if (isTlsProtocolError(err)) return false;
  return errorCodes(err).some((c) => TLS_CERT_CODES.has(c) || c.startsWith('ERR_TLS_') || c.startsWith('ERR_SSL_') || c === 'EPROTO');
}
