/**
 * The one error type of the local Firestore: a google.rpc.Code name and a message, mapped to a
 * gRPC status for gRPC clients and to an HTTP status + JSON body for browsers.
 */
import { status as GrpcStatus } from "@grpc/grpc-js";

export type Code =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "UNIMPLEMENTED"
  | "INTERNAL";

const HTTP: Record<Code, number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
};

export class RpcError extends Error {
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }

  get grpcCode(): number {
    return GrpcStatus[this.code];
  }

  get httpStatus(): number {
    return HTTP[this.code];
  }

  /** The JSON error body Google APIs answer with. */
  toJson(): { error: { code: number; message: string; status: Code } } {
    return { error: { code: this.httpStatus, message: this.message, status: this.code } };
  }
}

/** Any thrown value as an RpcError (unexpected ones become INTERNAL). */
export function asRpcError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  return new RpcError("INTERNAL", err instanceof Error ? err.message : String(err));
}
