/**
 * DEST strings, as skopeo spells them:
 *   docker://HOST[:PORT]/REPO[:TAG]      a registry (tag defaults to latest; @sha256: is refused for a push)
 *   oci:DIR[:TAG]                        an OCI image layout directory (created or merged into)
 *   oci-archive:FILE[:TAG]               a tar of an OCI image layout
 *   docker-archive:FILE[:REPO:TAG]       a `docker save` tar (docker load / podman load)
 * As in containers/image, the path ends at the first `:` after the transport, so paths
 * with a `:` cannot be named.
 */
import { DestinationError } from './errors.ts';

export type DestinationRef =
  | { transport: 'docker'; raw: string; host: string; repository: string; tag: string }
  | { transport: 'oci'; raw: string; path: string; tag: string }
  | { transport: 'oci-archive'; raw: string; path: string; tag: string }
  | { transport: 'docker-archive'; raw: string; path: string; repoTag?: string };

export type TransportName = DestinationRef['transport'];

const REPO_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

function invalid(raw: string, why: string): DestinationError {
  return new DestinationError('UAI_DEST_INVALID', `destination ${JSON.stringify(raw)}: ${why}`, { details: { destination: raw } });
}

function checkTag(raw: string, tag: string): string {
  if (!TAG_RE.test(tag)) throw invalid(raw, `tag ${JSON.stringify(tag)} is not valid ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
  return tag;
}

/**
 * Where `USER[:PASSWORD]@` ends in a docker:// reference (`docker://user:pass@host/repo`),
 * or -1: the last `@` before the last `/` (a digest's `@` comes after the repository; a
 * password may itself hold `/` or `@`). Without any `/`, any `@` counts.
 */
function userinfoEnd(rest: string): number {
  const lastSlash = rest.lastIndexOf('/');
  return lastSlash < 0 ? rest.lastIndexOf('@') : lastSlash === 0 ? -1 : rest.lastIndexOf('@', lastSlash - 1);
}

/** `docker://user:pass@host/repo:tag` → `docker://***@host/repo:tag`, for messages. */
export function redactDestination(raw: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(raw);
  if (!m) return raw;
  const end = userinfoEnd(m[2]!);
  return end < 0 ? raw : `${m[1]}***${m[2]!.slice(end)}`;
}

/** Parses `docker://HOST[:PORT]/REPO[:TAG]`. `raw` names the input for messages. */
export function parseDockerReference(raw: string, rest: string): { host: string; repository: string; tag: string } {
  if (userinfoEnd(rest) >= 0) {
    // Never echo the text before the `@`: it is, or may be, a password.
    const shown = redactDestination(`docker://${rest}`);
    throw new DestinationError(
      'UAI_DEST_CREDENTIALS_IN_REFERENCE',
      `destination ${JSON.stringify(shown)}: credentials do not go in the reference; pass them with --creds USER:PASSWORD or an auth file ` +
        `(--authfile FILE, or the containers/auth.json that podman/skopeo login writes)`,
      { details: { destination: shown } },
    );
  }
  if (rest.includes('@')) {
    throw new DestinationError(
      'UAI_DEST_DIGEST_REFERENCE',
      `destination ${JSON.stringify(raw)}: a push needs a tag, not a digest (the digest is known only after the push)`,
      { details: { destination: raw } },
    );
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) throw invalid(raw, 'expected docker://HOST[:PORT]/REPO[:TAG]');
  const host = rest.slice(0, slash);
  if (!HOST_RE.test(host) || (!host.includes('.') && !host.includes(':') && host !== 'localhost')) {
    throw invalid(raw, `${JSON.stringify(host)} is not a registry host (name one with a dot or a port, e.g. registry.local or 127.0.0.1:5000)`);
  }
  let path = rest.slice(slash + 1);
  let tag = 'latest';
  const lastSlash = path.lastIndexOf('/');
  const colon = path.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = checkTag(raw, path.slice(colon + 1));
    path = path.slice(0, colon);
  }
  if (!REPO_RE.test(path)) throw invalid(raw, `repository ${JSON.stringify(path)} is not valid (lower case, digits, separators . _ __ -)`);
  return { host, repository: path, tag };
}

function splitPath(raw: string, rest: string): { path: string; ref?: string } {
  const colon = rest.indexOf(':');
  const path = colon < 0 ? rest : rest.slice(0, colon);
  if (path === '') throw invalid(raw, 'the path is empty');
  return colon < 0 ? { path } : { path, ref: rest.slice(colon + 1) };
}

/** Parses one DEST string; throws `UAI_DEST_INVALID` (or `UAI_DEST_DIGEST_REFERENCE`) saying what is wrong. */
export function parseDestination(raw: string): DestinationRef {
  if (raw.startsWith('docker://')) {
    return { transport: 'docker', raw, ...parseDockerReference(raw, raw.slice('docker://'.length)) };
  }
  for (const transport of ['oci-archive', 'oci'] as const) {
    if (raw.startsWith(`${transport}:`)) {
      const { path, ref } = splitPath(raw, raw.slice(transport.length + 1));
      const tag = ref === undefined || ref === '' ? 'latest' : checkTag(raw, ref);
      return { transport, raw, path, tag };
    }
  }
  if (raw.startsWith('docker-archive:')) {
    const { path, ref } = splitPath(raw, raw.slice('docker-archive:'.length));
    if (ref === undefined || ref === '') return { transport: 'docker-archive', raw, path };
    const lastSlash = ref.lastIndexOf('/');
    const colon = ref.indexOf(':', lastSlash + 1);
    const repo = colon < 0 ? ref : ref.slice(0, colon);
    const tag = colon < 0 ? 'latest' : checkTag(raw, ref.slice(colon + 1));
    const hostEnd = repo.indexOf('/');
    const name = hostEnd > 0 && /[.:]|^localhost$/.test(repo.slice(0, hostEnd)) ? repo.slice(hostEnd + 1) : repo;
    if (!REPO_RE.test(name)) throw invalid(raw, `image name ${JSON.stringify(repo)} is not valid`);
    return { transport: 'docker-archive', raw, path, repoTag: `${repo}:${tag}` };
  }
  const scheme = /^([a-z-]+):/.exec(raw)?.[1];
  throw invalid(
    raw,
    scheme ? `unknown transport ${JSON.stringify(scheme)} (use docker://, oci:, oci-archive: or docker-archive:)` : 'expected docker://HOST/REPO[:TAG], oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:REPO:TAG]',
  );
}

/** How a destination is shown: `HOST/REPO:TAG`, `oci:DIR:TAG`, … */
export function describeDestination(ref: DestinationRef): string {
  switch (ref.transport) {
    case 'docker':
      return `${ref.host}/${ref.repository}:${ref.tag}`;
    case 'oci':
    case 'oci-archive':
      return `${ref.transport}:${ref.path}:${ref.tag}`;
    case 'docker-archive':
      return `docker-archive:${ref.path}${ref.repoTag ? `:${ref.repoTag}` : ''}`;
  }
}
