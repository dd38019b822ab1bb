/**
 * Browsers reach Firestore's streams over WebChannel (Closure's BrowserChannel wire protocol,
 * version 8), which the Firebase web SDK uses for Listen and Write. One session per stream:
 *
 * - handshake: a POST without SID (form body: `headers=…&count=N&ofs=0&req0___data__=<json>…`)
 *   answered at once with one chunk `[[0,["c",sid,"",8,12,30000]]]`;
 * - forward POSTs (SID, no TYPE): client messages, de-duplicated by map id (ofs + k), answered
 *   at once with `[1,lastArrayId,0]`;
 * - the back channel GET (TYPE=xmlhttp): server messages as arrays `[id,[message]]` with one
 *   id counter per session (0 is the handshake). CI=0 streams: the first bytes go out at once
 *   (the client's buffering-proxy probe gives up after a few round trips) and each array as it
 *   comes; CI=1 long-polls: pending arrays, or the next ones, then the response ends. Arrays
 *   stay buffered until a request acknowledges them (AID), so a new GET gets them again;
 * - TYPE=terminate (a beacon POST or an image GET) ends the session.
 *
 * Every response body is a sequence of `<length>\n<json>` chunks, the length counted in UTF-16
 * code units (the client slices responseText); non-ASCII is escaped so bytes and units agree.
 * Messages are proto3 JSON. See docs/DECISIONS.md ("The local Firestore") for sources.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Backend, WriteSession } from "./backend";
import { asRpcError } from "./errors";
import { allowOrigin, readBody } from "./httpUtil";
import { type ListenRequest, ListenSession } from "./listen";
import { fromJson, toJson } from "./protos";

const KEEPALIVE_MS = 30_000;
const LONG_POLL_MS = 25_000;
/** Server arrays a session keeps for a client that has not acknowledged them. */
const MAX_UNACKED = 10_000;
/** A session nobody has touched for this long (a closed tab) is dropped. */
const SESSION_IDLE_MS = 5 * 60_000;

function frame(value: unknown): string {
  const json = JSON.stringify(value).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return `${json.length}\n${json}`;
}

function channelHeaders(req: IncomingMessage, res: ServerResponse): void {
  allowOrigin(req, res);
  res.setHeader(
    "Access-Control-Expose-Headers",
    "X-HTTP-Session-Id, X-Client-Wire-Protocol, X-HTTP-Initial-Response",
  );
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("Cache-Control", "private, max-age=0");
  res.setHeader("X-Content-Type-Options", "nosniff");
}

interface BackChannel {
  res: ServerResponse;
  longPoll: boolean;
  timer: NodeJS.Timeout | null;
}

class ChannelSession {
  readonly id = randomBytes(16).toString("base64url");
  private nextArrayId = 1;
  private lastMapId = -1;
  private unacked: { id: number; payload: unknown[] }[] = [];
  private back: BackChannel | null = null;
  private handler: (message: unknown) => void;
  private readonly closeStream: () => void;
  private closed = false;
  private ending = false;
  lastSeen = Date.now();

  constructor(
    backend: Backend,
    rpc: "Listen" | "Write",
    private readonly onClose: () => void,
  ) {
    if (rpc === "Listen") {
      const listen = new ListenSession(backend.store, (response) =>
        this.push(toJson("google.firestore.v1.ListenResponse", response)),
      );
      this.handler = (message) =>
        listen.handle(fromJson("google.firestore.v1.ListenRequest", message) as ListenRequest);
      this.closeStream = () => listen.close();
    } else {
      const write = new WriteSession(backend, (response) =>
        this.push(toJson("google.firestore.v1.WriteResponse", response)),
      );
      let chain = Promise.resolve();
      this.handler = (message) => {
        const request = fromJson("google.firestore.v1.WriteRequest", message);
        chain = chain
          .then(() => write.handle(request as Parameters<WriteSession["handle"]>[0]))
          .catch((err: unknown) => this.fail(err));
      };
      this.closeStream = () => undefined;
    }
  }

  /** Client messages from a POST body, each handled once. */
  receive(form: URLSearchParams): void {
    this.lastSeen = Date.now();
    const count = Number(form.get("count") ?? "0");
    const ofs = Number(form.get("ofs") ?? "0");
    for (let k = 0; k < count; k++) {
      const mapId = ofs + k;
      if (mapId <= this.lastMapId) continue; // a retried POST
      this.lastMapId = mapId;
      const raw = form.get(`req${k}___data__`);
      if (raw === null) continue;
      try {
        this.handler(JSON.parse(raw));
      } catch (err) {
        this.fail(err);
      }
    }
  }

  /** Drops the arrays the client says it has (AID). */
  ack(aid: string | null): void {
    if (aid === null) return;
    const n = Number(aid);
    if (Number.isFinite(n)) this.unacked = this.unacked.filter((a) => a.id > n);
  }

  /** A back channel is open: the client is there, however long since its last message. */
  get attached(): boolean {
    return this.back !== null;
  }

  get lastArrayId(): number {
    return this.nextArrayId - 1;
  }

  private push(message: unknown): void {
    if (this.closed) return;
    this.send([message]);
  }

  /** An in-band RPC error (status name + message): the client closes the stream and reports it. */
  private fail(err: unknown): void {
    const e = asRpcError(err);
    this.send([{ error: { code: e.grpcCode, message: e.message, status: e.code } }]);
    this.closeStream();
  }

  private send(payload: unknown[]): void {
    const array = { id: this.nextArrayId++, payload };
    this.unacked.push(array);
    if (this.unacked.length > MAX_UNACKED) {
      // A client that acknowledges nothing for this long is gone or stuck: it reconnects.
      this.close();
      return;
    }
    const back = this.back;
    if (!back) return;
    this.write(back, [array]);
    if (back.longPoll && !this.ending) {
      // Let the rest of this burst (ADD, documents, CURRENT, snapshot) join the response.
      this.ending = true;
      setImmediate(() => {
        this.ending = false;
        if (this.back === back) this.endBack();
      });
    }
  }

  private write(back: BackChannel, arrays: { id: number; payload: unknown[] }[]): void {
    back.res.write(frame(arrays.map((a) => [a.id, a.payload])));
  }

  private noop(back: BackChannel): void {
    const array = { id: this.nextArrayId++, payload: ["noop"] };
    this.unacked.push(array);
    this.write(back, [array]);
  }

  /** A back channel GET: streaming (CI=0) or long-polling (CI=1). */
  attachBack(req: IncomingMessage, res: ServerResponse, longPoll: boolean, holdMs: number): void {
    this.lastSeen = Date.now();
    this.endBack();
    channelHeaders(req, res);
    res.writeHead(200);
    req.socket.setNoDelay(true);
    const back: BackChannel = { res, longPoll, timer: null };
    this.back = back;
    res.on("close", () => {
      if (this.back === back) {
        if (back.timer) clearInterval(back.timer);
        this.back = null;
        this.lastSeen = Date.now();
      }
    });
    if (this.unacked.length > 0) {
      this.write(back, this.unacked);
      if (longPoll) {
        this.endBack();
        return;
      }
    } else if (!longPoll) {
      // First bytes now: the client takes a silent back channel for a buffering proxy.
      this.noop(back);
    }
    if (longPoll) {
      back.timer = setTimeout(() => {
        this.noop(back);
        this.endBack();
      }, holdMs);
    } else {
      back.timer = setInterval(() => this.noop(back), KEEPALIVE_MS);
    }
  }

  private endBack(): void {
    const back = this.back;
    if (!back) return;
    this.back = null;
    if (back.timer) clearInterval(back.timer);
    back.res.end();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeStream();
    this.endBack();
    this.onClose();
  }
}

export class WebChannelHub {
  private readonly sessions = new Map<string, ChannelSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly backend: Backend) {
    this.sweeper = setInterval(() => {
      const cutoff = Date.now() - SESSION_IDLE_MS;
      for (const s of this.sessions.values()) if (!s.attached && s.lastSeen < cutoff) s.close();
    }, 60_000);
    this.sweeper.unref();
  }

  /** Open channel sessions (for tests that want the stack idle). */
  get size(): number {
    return this.sessions.size;
  }

  closeAll(): void {
    clearInterval(this.sweeper);
    for (const s of [...this.sessions.values()]) s.close();
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const rpc = /\/google\.firestore\.v1\.Firestore\/(\w+)\/channel$/.exec(url.pathname)?.[1];
    const params = url.searchParams;
    const sid = params.get("SID");
    const type = params.get("TYPE");
    if (rpc !== "Listen" && rpc !== "Write") {
      channelHeaders(req, res);
      res.writeHead(404).end();
      return;
    }
    if (!sid) {
      if (req.method !== "POST") {
        channelHeaders(req, res);
        res.writeHead(400).end();
        return;
      }
      const form = new URLSearchParams(await readBody(req));
      const session = new ChannelSession(this.backend, rpc, () => this.sessions.delete(session.id));
      this.sessions.set(session.id, session);
      channelHeaders(req, res);
      res.writeHead(200).end(frame([[0, ["c", session.id, "", 8, 12, KEEPALIVE_MS]]]));
      // The handshake may carry the stream's first messages; their answers go to the back channel.
      session.receive(form);
      return;
    }
    const session = this.sessions.get(sid);
    if (type === "terminate") {
      if (req.method === "POST") await readBody(req);
      session?.close();
      channelHeaders(req, res);
      res.writeHead(200).end();
      return;
    }
    if (!session) {
      channelHeaders(req, res);
      res.writeHead(400).end("<p>Unknown SID</p>");
      return;
    }
    session.ack(params.get("AID"));
    if (req.method === "GET") {
      const longPoll = params.get("CI") === "1";
      const to = Number(params.get("TO"));
      session.attachBack(req, res, longPoll, to > 0 ? Math.min(to, LONG_POLL_MS) : LONG_POLL_MS);
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    channelHeaders(req, res);
    res.writeHead(200).end(frame([1, session.lastArrayId, 0]));
    session.receive(form);
  }
}
