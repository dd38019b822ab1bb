/**
 * The google.firestore.v1.Firestore gRPC service (what firebase-admin and the Node client SDK
 * speak) over the backend. Auth metadata (`Bearer owner`, Auth emulator ID tokens) is accepted
 * and not checked: security rules are not evaluated locally.
 */
import * as grpc from "@grpc/grpc-js";
import { asRpcError } from "./errors";
import { type Backend, WriteSession } from "./backend";
import { type ListenRequest, ListenSession } from "./listen";
import { firestorePackage } from "./protos";

type Unary = (req: never) => unknown;

function unary(fn: Unary): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request as never))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          const e = asRpcError(err);
          callback({ code: e.grpcCode, details: e.message });
        },
      );
  };
}

function serverStream(
  fn: (req: never) => Promise<unknown[]>,
): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) => {
    fn(call.request as never).then(
      (responses) => {
        for (const r of responses) call.write(r);
        call.end();
      },
      (err: unknown) => {
        const e = asRpcError(err);
        call.emit("error", { code: e.grpcCode, details: e.message });
      },
    );
  };
}

export function createGrpcServer(backend: Backend): grpc.Server {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 });
  const definition = firestorePackage()["google.firestore.v1.Firestore"] as grpc.ServiceDefinition;
  server.addService(definition, {
    GetDocument: unary((r: never) => backend.getDocument(r)),
    ListDocuments: unary((r: never) => backend.listDocuments(r)),
    CreateDocument: unary((r: never) => backend.createDocument(r)),
    UpdateDocument: unary((r: never) => backend.updateDocument(r)),
    DeleteDocument: unary((r: never) => backend.deleteDocument(r)),
    BeginTransaction: unary((r: never) => backend.beginTransaction(r)),
    Commit: unary((r: never) => backend.commit(r)),
    Rollback: unary((r: never) => backend.rollback(r)),
    BatchWrite: unary((r: never) => backend.batchWrite(r)),
    ListCollectionIds: unary((r: never) => backend.listCollectionIds(r)),
    PartitionQuery: unary(() => ({ partitions: [] })),
    BatchGetDocuments: serverStream((r: never) => backend.batchGet(r)),
    RunQuery: serverStream((r: never) => backend.runQuery(r)),
    RunAggregationQuery: serverStream((r: never) => backend.runAggregationQuery(r)),
    Listen: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      const session = new ListenSession(backend.store, (response) => {
        if (!call.writableEnded && !call.destroyed) call.write(response);
      });
      call.on("data", (request: unknown) => {
        try {
          session.handle(request as ListenRequest);
        } catch (err) {
          const e = asRpcError(err);
          session.close();
          call.emit("error", { code: e.grpcCode, details: e.message });
        }
      });
      const end = () => session.close();
      call.on("end", () => {
        end();
        call.end();
      });
      call.on("cancelled", end);
      call.on("error", end);
      call.on("close", end);
    },
    Write: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      const session = new WriteSession(backend, (response) => {
        if (!call.writableEnded && !call.destroyed) call.write(response);
      });
      let chain = Promise.resolve();
      call.on("data", (request: Parameters<WriteSession["handle"]>[0]) => {
        chain = chain
          .then(() => session.handle(request))
          .catch((err: unknown) => {
            const e = asRpcError(err);
            call.emit("error", { code: e.grpcCode, details: e.message });
          });
      });
      call.on("end", () => void chain.then(() => call.end()));
    },
  });
  return server;
}
