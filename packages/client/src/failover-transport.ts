import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamResponse, type Transport } from "@connectrpc/connect";

/** How unary calls are retried. Only UNAVAILABLE is retried: it means the call was not processed. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 4). 1 disables retries. */
  readonly maxAttempts?: number;
  /** The first backoff (default 100 ms); doubled each time, with full jitter. */
  readonly initialBackoffMs?: number;
  /** The largest backoff (default 2000 ms). */
  readonly maxBackoffMs?: number;
}

/**
 * One transport over several Gatehouse endpoints: calls go to the current
 * one; an UNAVAILABLE answer moves to the next and retries unary calls with
 * exponential backoff. Streams are not retried here (their consumers resume
 * from a cursor, see ChangeWatcher) but the next stream opens on the next endpoint.
 */
export function failoverTransport(transports: readonly Transport[], retry: RetryOptions = {}): Transport {
  if (transports.length === 0) throw new Error("at least one Gatehouse endpoint is needed");
  const maxAttempts = Math.max(1, retry.maxAttempts ?? 4);
  const initialBackoffMs = retry.initialBackoffMs ?? 100;
  const maxBackoffMs = retry.maxBackoffMs ?? 2000;
  let current = 0;
  const failedOver = (index: number) => {
    if (current === index) current = (current + 1) % transports.length;
  };
  return {
    async unary(...args) {
      for (let attempt = 1; ; attempt++) {
        const index = current;
        try {
          return await transports[index]!.unary(...args);
        } catch (error) {
          if (!(error instanceof ConnectError) || error.code !== Code.Unavailable) throw error;
          failedOver(index);
          const signal = args[1];
          if (attempt >= maxAttempts || signal?.aborted === true) throw error;
          const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
          await sleep(Math.random() * ceiling, signal);
        }
      }
    },
    async stream<I extends DescMessage, O extends DescMessage>(
      ...args: Parameters<Transport["stream"]>
    ): Promise<StreamResponse<I, O>> {
      const index = current;
      const unavailable = (error: unknown) => {
        if (error instanceof ConnectError && error.code === Code.Unavailable) failedOver(index);
      };
      let response: StreamResponse<I, O>;
      try {
        response = (await transports[index]!.stream(...args)) as StreamResponse<I, O>;
      } catch (error) {
        unavailable(error);
        throw error;
      }
      const messages = response.message;
      return {
        ...response,
        // A stream that breaks while being read (its endpoint went away) moves on too.
        message: (async function* () {
          try {
            yield* messages;
          } catch (error) {
            unavailable(error);
            throw error;
          }
        })(),
      };
    },
  };
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
