/** A DEST string (or parsed ref) → the Destination that writes there. */
import type { WarningHandler } from '../errors.ts';
import type { ImageFormat } from '../image/media-types.ts';
import type { Destination } from './destination.ts';
import { DockerArchiveDestination } from './docker-archive.ts';
import { RegistryDestination, type RegistryClientFactory } from './docker.ts';
import { OciArchiveDestination } from './oci-archive.ts';
import { OciLayoutDestination } from './oci-layout.ts';
import type { RegistryClientOptions } from './registry/client-api.ts';
import { parseDestination, type DestinationRef } from './transport.ts';

export interface OpenDestinationOptions {
  /** Registry manifest format (default oci). */
  format?: ImageFormat;
  registry?: RegistryClientOptions;
  clientFactory?: RegistryClientFactory;
  /** Base for relative paths (default process.cwd()). */
  cwd?: string;
  /** Seconds since the epoch for archive entry times (the image's created time). */
  mtime?: number;
  onWarning?: WarningHandler;
}

export function openDestination(dest: string | DestinationRef, options: OpenDestinationOptions = {}): Destination {
  const ref = typeof dest === 'string' ? parseDestination(dest) : dest;
  const local = { ...(options.cwd ? { cwd: options.cwd } : {}), ...(options.mtime !== undefined ? { mtime: options.mtime } : {}) };
  switch (ref.transport) {
    case 'docker':
      return new RegistryDestination(ref, {
        ...(options.format ? { format: options.format } : {}),
        ...(options.registry ? { client: options.registry } : {}),
        ...(options.clientFactory ? { clientFactory: options.clientFactory } : {}),
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      });
    case 'oci':
      return new OciLayoutDestination(ref, local);
    case 'oci-archive':
      return new OciArchiveDestination(ref, local);
    case 'docker-archive':
      return new DockerArchiveDestination(ref, local);
  }
}
