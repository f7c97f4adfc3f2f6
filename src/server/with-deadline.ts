import { Code, ConnectError } from "@connectrpc/connect";

/** The handler's answer, or DEADLINE_EXCEEDED once the caller's timeout passes (as Connect's handler context). */
export function withDeadline<T>(work: T | Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined) return Promise.resolve(work);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
      timeoutMs,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
