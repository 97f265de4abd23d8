export type * from './registry/client-api.ts';
export { RegistryClient, RegistryError, type RegistryErrorCode } from './registry/index.ts';
export { parseDestination, parseDockerReference, describeDestination, redactDestination, type DestinationRef, type TransportName } from './transport.ts';
export type {
  Destination,
  DestinationOptions,
  DestinationResult,
  WriteLayerOptions,
  CommitContext,
  ProgressEvent,
} from './destination.ts';
export { openDestination, type OpenDestinationOptions } from './open-destination.ts';
export { RegistryDestination, isManifestTypeRejected, type RegistryDestinationOptions, type RegistryClientFactory } from './docker.ts';
export { OciLayoutDestination, REF_NAME } from './oci-layout.ts';
export { OciArchiveDestination } from './oci-archive.ts';
export { DockerArchiveDestination } from './docker-archive.ts';
export { TarFileWriter, tarHeader } from './tar-file-writer.ts';
export { tee, type TeeOutcome } from './tee.ts';
export { DestinationError, type DestinationErrorCode } from './errors.ts';
