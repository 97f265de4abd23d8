/**
 * Finds the username and password for a registry, in podman/skopeo order:
 * `creds`, then `authfile` (alone, when given), else REGISTRY_AUTH_FILE,
 * ${XDG_RUNTIME_DIR}/containers/auth.json, ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json,
 * $DOCKER_CONFIG/config.json or ~/.docker/config.json. In each file: `credHelpers[host]`,
 * then `auths` (keys `host/ns/img`, `host/ns`, `host`, with or without a scheme), then
 * `credsStore`. Helpers run as `docker-credential-<name> get` with the host on stdin.
 * Nothing here ever puts a secret into a message.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { WarningHandler } from '../../errors.ts';
import { RegistryError } from './errors.ts';

export interface Credentials {
  username: string;
  password: string;
}

export interface CredentialOptions {
  creds?: Credentials;
  authfile?: string;
  env?: NodeJS.ProcessEnv;
  onWarning?: WarningHandler;
  signal?: AbortSignal;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The auth files to look at, in order (existing or not). */
export function authFilePaths(options: Pick<CredentialOptions, 'authfile' | 'env'> = {}): string[] {
  if (options.authfile !== undefined) return [options.authfile];
  const env = options.env ?? process.env;
  const home = env['HOME'] ?? homedir();
  const out: string[] = [];
  if (env['REGISTRY_AUTH_FILE']) out.push(env['REGISTRY_AUTH_FILE']);
  if (env['XDG_RUNTIME_DIR']) out.push(join(env['XDG_RUNTIME_DIR'], 'containers', 'auth.json'));
  out.push(join(env['XDG_CONFIG_HOME'] || join(home, '.config'), 'containers', 'auth.json'));
  out.push(join(env['DOCKER_CONFIG'] || join(home, '.docker'), 'config.json'));
  return out;
}

/** The keys an `auths` entry may have for `host` and `repo`, most specific first. */
export function authKeys(host: string, repo?: string): string[] {
  const keys: string[] = [];
  if (repo !== undefined) {
    const parts = repo.split('/');
    for (let i = parts.length; i > 0; i--) keys.push(`${host}/${parts.slice(0, i).join('/')}`);
  }
  keys.push(host);
  return keys;
}

/** `https://host/v1/` → `host`; `host/ns` stays `host/ns`. */
export function normalizeKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '').replace(/\/v[12]$/, '');
}

function decodeAuth(entry: NonNullable<AuthFile['auths']>[string], file: string, key: string): Credentials | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8').replace(/\0+$/, '');
    const colon = text.indexOf(':');
    if (colon < 0) {
      throw new RegistryError('UAI_REGISTRY_CREDENTIALS', `${file}: auths["${key}"].auth is not base64 of user:password`, {
        details: { path: file, key },
      });
    }
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}

function readAuthFile(path: string, required: boolean): AuthFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RegistryError('UAI_REGISTRY_CREDENTIALS', `cannot read auth file ${path}: ${(err as Error).message}`, {
      cause: err,
      details: { path },
    });
  }
  try {
    return JSON.parse(text) as AuthFile;
  } catch (err) {
    // The JSON parser's message may quote the file (and so a secret): keep it out.
    throw new RegistryError('UAI_REGISTRY_CREDENTIALS', `auth file ${path} is not valid JSON`, { details: { path } });
  }
}

/** Runs `docker-credential-<helper> get` with the server on stdin. Undefined when it has nothing. */
export async function runCredentialHelper(
  helper: string,
  server: string,
  options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(program, ['get'], {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) =>
      reject(
        new RegistryError('UAI_REGISTRY_CREDENTIALS', `cannot run credential helper ${program}: ${e.message}`, {
          cause: e,
          details: { helper: program },
        }),
      ),
    );
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(server);
  });
  if (code !== 0) {
    if (/not found/i.test(stderr) || /not found/i.test(stdout)) return undefined;
    throw new RegistryError('UAI_REGISTRY_CREDENTIALS', `credential helper ${program} failed for ${server} (exit ${code})`, {
      details: { helper: program, server, exitCode: code },
    });
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new RegistryError('UAI_REGISTRY_CREDENTIALS', `credential helper ${program} printed no JSON for ${server}`, {
      details: { helper: program, server },
    });
  }
  if (typeof parsed.Username !== 'string' || typeof parsed.Secret !== 'string') return undefined;
  return { username: parsed.Username, password: parsed.Secret };
}

/** Looks `host` (and `repo`) up; undefined means anonymous. */
export async function findCredentials(host: string, repo: string | undefined, options: CredentialOptions = {}): Promise<Credentials | undefined> {
  if (options.creds !== undefined) return options.creds;
  const env = options.env ?? process.env;
  const keys = authKeys(host, repo);
  for (const path of authFilePaths(options)) {
    options.signal?.throwIfAborted();
    const file = readAuthFile(path, options.authfile !== undefined);
    if (file === undefined) continue;
    const helper = file.credHelpers?.[host];
    if (helper !== undefined) {
      const found = await useHelper(helper, host, env, options);
      if (found !== undefined) return found;
    }
    const auths = file.auths ?? {};
    const byKey = new Map<string, [string, NonNullable<AuthFile['auths']>[string]]>();
    for (const [key, entry] of Object.entries(auths)) {
      const norm = normalizeKey(key);
      if (!byKey.has(norm) || key === norm) byKey.set(norm, [key, entry]);
    }
    for (const key of keys) {
      const hit = byKey.get(key);
      if (hit === undefined) continue;
      const creds = decodeAuth(hit[1], path, hit[0]);
      if (creds !== undefined) return creds;
    }
    if (file.credsStore !== undefined && file.credsStore !== '') {
      const found = await useHelper(file.credsStore, host, env, options);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

async function useHelper(helper: string, host: string, env: NodeJS.ProcessEnv, options: CredentialOptions): Promise<Credentials | undefined> {
  const creds = await runCredentialHelper(helper, host, { env, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  if (creds !== undefined && creds.username === '<token>') {
    options.onWarning?.({
      code: 'UAI_REGISTRY_IDENTITY_TOKEN',
      message: `credential helper docker-credential-${helper} returned an identity token for ${host}; identity tokens are not supported, trying anonymous access`,
      details: { host, helper },
    });
    return undefined;
  }
  return creds;
}
