/**
 * An in-memory transport for tests: records every batch and answers success unless scripted to
 * fail a token, fail a whole call, or throw. Answers are checked in this order: a throw for the
 * call, a failure for the whole call, a failure for the token, success.
 */
import type {
  PushMessage,
  PushResult,
  PushTransport,
} from "../../functions/src/services/fcm/transport";

export interface ScriptedFailure {
  code: string;
}

export interface RecordingTransport extends PushTransport {
  /** Every batch handed to the transport, in order (retries included). */
  readonly calls: PushMessage[][];
  /** Messages answered with success, in order. */
  readonly delivered: PushMessage[];
  /** The next `times` sends to `token` fail with `failure` (every send when `times` is omitted). */
  failToken(token: string, failure: ScriptedFailure, times?: number): this;
  /** The call with this 0-based index answers `failure` for every message in it. */
  failCall(callIndex: number, failure: ScriptedFailure): this;
  /** The call with this 0-based index rejects with `error`. */
  throwOnCall(callIndex: number, error?: Error): this;
  /** Any call whose batch matches `predicate` rejects with `error`. */
  throwWhen(predicate: (batch: PushMessage[]) => boolean, error?: Error): this;
}

export function createRecordingTransport(): RecordingTransport {
  const calls: PushMessage[][] = [];
  const delivered: PushMessage[] = [];
  const tokenFailures = new Map<string, { failure: ScriptedFailure; remaining: number }>();
  const callFailures = new Map<number, ScriptedFailure>();
  const callThrows = new Map<number, Error>();
  const throwPredicates: { predicate: (batch: PushMessage[]) => boolean; error: Error }[] = [];
  let nextId = 0;

  function fail(failure: ScriptedFailure): PushResult {
    return { ok: false, ...failure };
  }

  const transport: RecordingTransport = {
    calls,
    delivered,
    failToken(token, failure, times = Number.POSITIVE_INFINITY) {
      tokenFailures.set(token, { failure, remaining: times });
      return transport;
    },
    failCall(callIndex, failure) {
      callFailures.set(callIndex, failure);
      return transport;
    },
    throwOnCall(callIndex, error = new Error("scripted transport failure")) {
      callThrows.set(callIndex, error);
      return transport;
    },
    throwWhen(predicate, error = new Error("scripted transport failure")) {
      throwPredicates.push({ predicate, error });
      return transport;
    },
    sendBatch(messages) {
      const index = calls.length;
      const batch = messages.map((m) => ({ ...m, data: m.data ? { ...m.data } : undefined }));
      calls.push(batch);
      const thrown =
        callThrows.get(index) ?? throwPredicates.find((t) => t.predicate(batch))?.error;
      if (thrown) return Promise.reject(thrown);
      const callFailure = callFailures.get(index);
      const results = batch.map((message): PushResult => {
        if (callFailure) return fail(callFailure);
        const scripted = tokenFailures.get(message.token);
        if (scripted && scripted.remaining > 0) {
          scripted.remaining -= 1;
          return fail(scripted.failure);
        }
        delivered.push(message);
        nextId += 1;
        return { ok: true, messageId: `recorded-${nextId}` };
      });
      return Promise.resolve(results);
    },
  };
  return transport;
}
