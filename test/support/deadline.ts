/**
 * Calls against a dependency that hangs: each is bounded by a client deadline so
 * a regression fails the test instead of hanging it, and its time is printed
 * (never asserted) for the README's outage table.
 */
export const CALL_DEADLINE_MS = 30_000;

export interface TimedResponse {
  status: number;
  body: Record<string, any>;
  /** The google.rpc.ErrorInfo reason of a Connect error, or "". */
  reason: string;
  ms: number;
}

/** A Connect JSON call (or a plain GET when body is undefined) with a deadline; logs how long it took. */
export async function timedCall(
  label: string,
  url: string,
  body?: unknown,
  token?: string,
  options: { quiet?: boolean } = {},
): Promise<TimedResponse> {
  const started = performance.now();
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  let response: Response;
  try {
    response = await fetch(url, {
      method: body === undefined ? "GET" : "POST",
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_DEADLINE_MS),
    });
  } catch (error) {
    throw new Error(`${label}: no answer within the ${CALL_DEADLINE_MS} ms deadline`, { cause: error });
  }
  const text = await response.text();
  const ms = Math.round(performance.now() - started);
  let parsed: Record<string, any> = {};
  try {
    parsed = text === "" ? {} : JSON.parse(text);
  } catch {
    parsed = { text };
  }
  const details = (parsed.details ?? []) as Array<{ type: string; debug?: { reason?: string } }>;
  const reason = details.find((detail) => detail.type === "google.rpc.ErrorInfo")?.debug?.reason ?? "";
  if (!options.quiet)
    console.log(`[outage timing] ${label}: HTTP ${response.status}${reason ? ` ${reason}` : ""} in ${ms} ms`);
  return { status: response.status, body: parsed, reason, ms };
}
