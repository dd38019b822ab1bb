/**
 * Transactions that isolate, the way Firestore's server-side transactions do: pessimistic
 * locks. A read-write transaction locks each document it reads (and each it writes) until it
 * commits or rolls back, so a second transaction reading the same document waits and then sees
 * the first one's result. Deadlocks are broken by wound-wait: an older transaction asking for a
 * lock held by a younger one aborts the younger (its next call fails with ABORTED and the SDK
 * retries it, keeping its age through `retryTransaction`); a younger one waits. An idle
 * transaction expires after 60 s and gives its locks up.
 *
 * Differences from Firestore, shown in test/firestore/known-differences.test.ts: locks are
 * exclusive (Firestore shares read locks until commit), and a query in a transaction locks the
 * documents it returned, not the range (no phantom protection).
 */
import { randomBytes } from "node:crypto";
import { RpcError } from "./errors";

export const IDLE_EXPIRY_MS = 60_000;

export class Transaction {
  readonly held = new Set<string>();
  /** Why the transaction can no longer commit, once it cannot. */
  abortedBecause: string | null = null;
  /** Its lock waits under way (a transaction may read several documents at once). */
  readonly waits = new Set<Waiter>();
  /** Committed, rolled back or expired: it may hold and wait for nothing. */
  ended = false;
  timer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: Buffer,
    /** Lower is older: the wound-wait priority. */
    readonly age: number,
    readonly readOnly: boolean,
  ) {}

  get key(): string {
    return this.id.toString("hex");
  }
}

interface Waiter {
  tx: Transaction;
  name: string;
  grant(): void;
  cancel(err: RpcError): void;
}

export class LockManager {
  private readonly transactions = new Map<string, Transaction>();
  /** Ages of finished transactions, so a retry keeps its place (bounded). */
  private readonly pastAges = new Map<string, number>();
  private readonly owners = new Map<string, Transaction>();
  private readonly queues = new Map<string, Waiter[]>();
  /** Non-transactional commits waiting for their documents to be free. */
  private blindWaiters: { names: string[]; run(): void }[] = [];
  private nextAge = 1;

  begin(opts: { readOnly?: boolean; retryTransaction?: Buffer | null }): Transaction {
    const retried = opts.retryTransaction?.length
      ? this.pastAges.get(opts.retryTransaction.toString("hex"))
      : undefined;
    const tx = new Transaction(randomBytes(16), retried ?? this.nextAge++, opts.readOnly === true);
    this.transactions.set(tx.key, tx);
    this.touch(tx);
    return tx;
  }

  /** The live transaction with this id; INVALID_ARGUMENT when unknown or expired. */
  find(id: Buffer | Uint8Array): Transaction {
    const tx = this.transactions.get(Buffer.from(id).toString("hex"));
    if (!tx)
      throw new RpcError(
        "INVALID_ARGUMENT",
        "The referenced transaction has expired or is no longer valid (transaction has expired).",
      );
    this.touch(tx);
    return tx;
  }

  /** Throws ABORTED if the transaction was wounded or expired. */
  check(tx: Transaction): void {
    if (tx.abortedBecause) throw new RpcError("ABORTED", tx.abortedBecause);
  }

  /** Locks `name` for `tx` (no-op for read-only transactions and locks already held). */
  async lock(tx: Transaction, name: string): Promise<void> {
    this.check(tx);
    if (tx.readOnly || tx.held.has(name)) return;
    const owner = this.owners.get(name);
    if (!owner) {
      this.grant(tx, name);
      return;
    }
    const granted = new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        tx,
        name,
        grant: () => {
          tx.waits.delete(waiter);
          this.grant(tx, name);
          resolve();
        },
        cancel: (err) => {
          tx.waits.delete(waiter);
          const q = (this.queues.get(name) ?? []).filter((w) => w !== waiter);
          if (q.length > 0) this.queues.set(name, q);
          else this.queues.delete(name);
          reject(err);
        },
      };
      tx.waits.add(waiter);
      const queue = this.queues.get(name) ?? [];
      queue.push(waiter);
      queue.sort((a, b) => a.tx.age - b.tx.age);
      this.queues.set(name, queue);
    });
    // Wound-wait: a younger owner gives way. `tx` is queued first, so the freed lock goes to it
    // (or to an even older waiter), not to a younger waiter that would be wounded next.
    if (tx.age < owner.age) {
      this.abort(owner, "Transaction was aborted by an older transaction on the same document");
    }
    await granted;
  }

  /** Ends the transaction: its waits are cancelled and its locks freed. */
  finish(tx: Transaction): void {
    if (tx.timer) clearTimeout(tx.timer);
    tx.ended = true;
    this.transactions.delete(tx.key);
    this.pastAges.set(tx.key, tx.age);
    if (this.pastAges.size > 10_000) this.pastAges.delete(this.pastAges.keys().next().value!);
    this.cancelWaits(tx, "Transaction ended");
    this.releaseAll(tx);
  }

  /**
   * Runs `apply` (synchronously) as soon as none of `names` is locked by a transaction: the
   * way a non-transactional commit waits for the transactions holding its documents. It holds
   * no lock while it waits, so it cannot deadlock.
   */
  whenFree<T>(names: string[], apply: () => T): Promise<T> {
    const attempt = (resolve: (v: T) => void, reject: (e: Error) => void) => {
      try {
        resolve(apply());
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    if (names.every((n) => !this.owners.has(n))) return new Promise<T>(attempt);
    return new Promise<T>((resolve, reject) =>
      this.blindWaiters.push({ names, run: () => attempt(resolve, reject) }),
    );
  }

  /** How many transactions are open. */
  get open(): number {
    return this.transactions.size;
  }

  /** How many transactions wait for the lock on `name`. */
  waitingFor(name: string): number {
    return this.queues.get(name)?.length ?? 0;
  }

  private grant(tx: Transaction, name: string): void {
    this.owners.set(name, tx);
    tx.held.add(name);
  }

  private touch(tx: Transaction): void {
    if (tx.timer) clearTimeout(tx.timer);
    tx.timer = setTimeout(() => {
      this.abort(tx, "Transaction expired after 60 s of inactivity");
      this.finish(tx);
    }, IDLE_EXPIRY_MS);
    tx.timer.unref();
  }

  private cancelWaits(tx: Transaction, reason: string): void {
    for (const w of [...tx.waits]) w.cancel(new RpcError("ABORTED", reason));
  }

  private abort(tx: Transaction, reason: string): void {
    tx.abortedBecause ??= reason;
    this.cancelWaits(tx, reason);
    this.releaseAll(tx);
  }

  private releaseAll(tx: Transaction): void {
    const freed = [...tx.held];
    tx.held.clear();
    for (const name of freed) if (this.owners.get(name) === tx) this.owners.delete(name);
    // Non-transactional commits whose documents are all free go first (they hold nothing and
    // finish in one tick), then each freed lock goes to its oldest waiter.
    const ready = this.blindWaiters.filter((w) => w.names.every((n) => !this.owners.has(n)));
    this.blindWaiters = this.blindWaiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.run();
    for (const name of freed) {
      if (this.owners.has(name)) continue;
      const queue = this.queues.get(name) ?? [];
      let next = queue.shift();
      // A waiter whose transaction ended or was aborted meanwhile takes nothing.
      while (next && (next.tx.ended || next.tx.abortedBecause)) next = queue.shift();
      if (queue.length === 0) this.queues.delete(name);
      next?.grant();
    }
  }
}
