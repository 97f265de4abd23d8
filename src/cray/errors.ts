import { UaiError } from '../errors.ts';

export type CrayErrorCode =
  /** No usable credentials, or the gateway still answers 401/403 after a refresh. */
  | 'UAI_CRAY_AUTH'
  /** A cray CLI configuration, token file or option is missing or malformed. */
  | 'UAI_CRAY_CONFIG'
  /** A CSM service answered with an unexpected status. */
  | 'UAI_CRAY_HTTP'
  /** The gateway could not be reached (DNS, connection, TLS). */
  | 'UAI_CRAY_CONNECT'
  /** A named thing (session template, IMS image, S3 object) does not exist. */
  | 'UAI_CRAY_NOT_FOUND'
  /** A session template has no boot set we can pick without help. */
  | 'UAI_CRAY_BOOT_SET'
  /** manifest.json is not a valid IMS image manifest. */
  | 'UAI_CRAY_MANIFEST'
  /** A service answered with a body we cannot use. */
  | 'UAI_CRAY_RESPONSE'
  /** STS did not give S3 credentials. */
  | 'UAI_CRAY_STS'
  /** The request needs something this CSM release does not offer (BOS v1 with a tenant, UAS on CSM 1.6). */
  | 'UAI_CRAY_UNSUPPORTED'
  /** A downloaded rootfs does not match the manifest's md5. */
  | 'UAI_CRAY_CHECKSUM';

/**
 * Every error of the CSM clients: names the service, the method and path, and the HTTP
 * status (with the RFC 7807 `detail` when the service sent one). Never a token or secret.
 */
export class CrayError extends UaiError {
  declare readonly code: CrayErrorCode;
  constructor(code: CrayErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, options);
  }
}
