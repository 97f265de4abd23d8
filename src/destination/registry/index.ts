/** The registry client: moves blobs and manifests to and from an OCI registry. */
export type * from './client-api.ts';
export { RegistryClient, parseHost } from './client.ts';
export { RegistryError, redactUrl, type RegistryErrorCode, type RegistryErrorEntry } from './errors.ts';
export { parseChallenges, type Challenge } from './challenge.ts';
export { findCredentials, authFilePaths, type Credentials } from './credentials.ts';
export { parseRetryAfter } from './retry.ts';
