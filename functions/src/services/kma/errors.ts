/**
 * Typed failures of the KMA forecast API. The data.go.kr gateway and the service itself report
 * errors as a `resultCode` (in `<OpenAPI_ServiceResponse>` as `returnReasonCode`), usually with
 * HTTP 200; timeouts, HTTP errors and unreadable bodies get codes of their own.
 */

export type KmaErrorCode =
  /** 03 NODATA_ERROR: the run is not published (yet) or has nothing for the grid. */
  | "no_data"
  /** 10 INVALID_REQUEST_PARAMETER_ERROR, 11 NO_MANDATORY_REQUEST_PARAMETERS_ERROR. */
  | "invalid_params"
  /** 22 LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR (daily quota). */
  | "request_limit"
  /** 30 SERVICE_KEY_IS_NOT_REGISTERED_ERROR. */
  | "unregistered_key"
  /** 31 DEADLINE_HAS_EXPIRED_ERROR. */
  | "expired_key"
  /** 32 UNREGISTERED_IP_ERROR. */
  | "unregistered_ip"
  /** 20 SERVICE_ACCESS_DENIED, 21 TEMPORARILY_DISABLE_THE_SERVICEKEY, 33 UNSIGNED_CALL. */
  | "access_denied"
  /** 01 APPLICATION, 02 DB, 04 HTTP, 05 SERVICETIME_OUT, 12 NO_OPENAPI_SERVICE, 99 UNKNOWN … */
  | "service_error"
  /** No answer within the client's timeout. */
  | "timeout"
  /** A non-2xx status without a readable KMA error in the body, or a network failure. */
  | "http"
  /** A body that is neither a KMA response nor a KMA error. */
  | "bad_response";

const BY_RESULT_CODE: Readonly<Record<string, KmaErrorCode>> = {
  "03": "no_data",
  "10": "invalid_params",
  "11": "invalid_params",
  "20": "access_denied",
  "21": "access_denied",
  "22": "request_limit",
  "30": "unregistered_key",
  "31": "expired_key",
  "32": "unregistered_ip",
  "33": "access_denied",
};

export class KmaError extends Error {
  constructor(
    readonly code: KmaErrorCode,
    message: string,
    /** KMA's resultCode, when the failure came with one. */
    readonly resultCode: string | null = null,
    /** HTTP status, when the failure came with a non-2xx one. */
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = "KmaError";
  }

  /** Worth trying again later (not a configuration problem such as a bad key). */
  get transient(): boolean {
    return (
      this.code === "no_data" ||
      this.code === "service_error" ||
      this.code === "timeout" ||
      (this.code === "http" && (this.status === null || this.status >= 500))
    );
  }
}

/** The typed error for a KMA resultCode other than "00"; `message` is KMA's resultMsg. */
export function kmaErrorFromResultCode(resultCode: string, message?: string): KmaError {
  const code = BY_RESULT_CODE[resultCode] ?? "service_error";
  return new KmaError(code, `KMA ${resultCode}: ${message || code}`, resultCode);
}
