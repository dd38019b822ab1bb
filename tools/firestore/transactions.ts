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
  /** Rejects the lock wait under way, if any. */
  cancelWait: ((err: RpcError) => void) | null = null;
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
  grant(): void;
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
    for (;;) {
      const owner = this.owners.get(name);
      if (!owner) {
        this.grant(tx, name);
        return;
      }
      if (owner.age < tx.age) break;
      // Wound: the younger owner gives way (its locks may go to an even older waiter).
      this.abort(owner, "Transaction was aborted by an older transaction on the same document");
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        tx,
        grant: () => {
          tx.cancelWait = null;
          this.grant(tx, name);
          resolve();
        },
      };
      const queue = this.queues.get(name) ?? [];
      queue.push(waiter);
      queue.sort((a, b) => a.tx.age - b.tx.age);
      this.queues.set(name, queue);
      tx.cancelWait = (err) => {
        tx.cancelWait = null;
        const q = this.queues.get(name) ?? [];
        this.queues.set(
          name,
          q.filter((w) => w !== waiter),
        );
        reject(err);
      };
    });
  }

  /** Ends the transaction and frees its locks. */
  finish(tx: Transaction): void {
    if (tx.timer) clearTimeout(tx.timer);
    this.transactions.delete(tx.key);
    this.pastAges.set(tx.key, tx.age);
    if (this.pastAges.size > 10_000) this.pastAges.delete(this.pastAges.keys().next().value!);
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
      this.transactions.delete(tx.key);
    }, IDLE_EXPIRY_MS);
    tx.timer.unref();
  }

  private abort(tx: Transaction, reason: string): void {
    tx.abortedBecause ??= reason;
    tx.cancelWait?.(new RpcError("ABORTED", reason));
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
      const next = this.queues.get(name)?.shift();
      if (this.queues.get(name)?.length === 0) this.queues.delete(name);
      next?.grant();
    }
  }
}
