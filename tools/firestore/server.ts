/**
 * The local Firestore on one port, as the real emulator serves it: gRPC (HTTP/2 cleartext, for
 * firebase-admin and the Node SDK) and HTTP/1.1 (WebChannel and REST, for browsers) told apart
 * by the first bytes of each connection: an HTTP/2 connection opens with the fixed preface
 * "PRI * HTTP/2.0".
 */
import * as grpc from "@grpc/grpc-js";
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { Backend } from "./backend";
import { createGrpcServer } from "./grpc";
import { createHttpHandler } from "./http";

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0");

/** A stream that yields `head`, then the rest of the socket, and writes to the socket. */
function replaying(socket: Socket, head: Buffer): Duplex {
  const stream = new Duplex({
    read: () => socket.resume(),
    write: (chunk: Buffer, _enc, done) => socket.write(chunk, done),
    final: (done) => socket.end(done),
    destroy: (err, done) => {
      socket.destroy(err ?? undefined);
      done(err);
    },
  });
  stream.push(head);
  socket.on("data", (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on("end", () => stream.push(null));
  socket.on("close", () => stream.destroy());
  return stream;
}

export interface FirestoreEmulator {
  readonly backend: Backend;
  readonly port: number;
  /** host:port, as FIRESTORE_EMULATOR_HOST takes it. */
  readonly host: string;
  stop(): Promise<void>;
}

export async function startFirestoreEmulator(
  opts: { port?: number; hostname?: string } = {},
): Promise<FirestoreEmulator> {
  const backend = new Backend();
  const grpcServer = createGrpcServer(backend);
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const rest = createHttpHandler(backend);
  const http = createHttpServer(rest.listener);
  http.keepAliveTimeout = 60_000;
  const sockets = new Set<Socket>();

  const route = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // Small request/response frames: without this, Nagle + delayed ACKs add ~40 ms per call.
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, HTTP2_PREFACE.length);
      const isHttp2 = head.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      if (isHttp2 && head.length < HTTP2_PREFACE.length) return; // wait for more bytes
      socket.off("data", onData);
      socket.pause();
      if (isHttp2) {
        // http2 reads the socket's native handle, which would skip the bytes read here; a JS
        // stream in front of it replays them.
        injector.injectConnection(replaying(socket, head));
      } else {
        socket.unshift(head);
        http.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  };

  const net = createNetServer(route);
  const hostname = opts.hostname ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    net.once("error", reject);
    net.listen(opts.port ?? 0, hostname, () => resolve());
  });
  const address = net.address();
  const port = typeof address === "object" && address ? address.port : 0;

  return {
    backend,
    port,
    host: `${hostname}:${port}`,
    async stop() {
      rest.close();
      injector.destroy();
      grpcServer.forceShutdown();
      for (const s of sockets) s.destroy();
      http.closeAllConnections();
      await new Promise<void>((resolve) => net.close(() => resolve()));
    },
  };
}
