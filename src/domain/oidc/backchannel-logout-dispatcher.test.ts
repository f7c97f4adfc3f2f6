import { describe, expect, it, vi } from "vitest";
import { MemoryOidcClientDirectory } from "../../../test/support/fakes/memory-oidc-client-directory.ts";
import type { ChangeEvent } from "../change-feed/change-feed.ts";
import { BackchannelLogoutDispatcher } from "./backchannel-logout-dispatcher.ts";

const sessionEnded = (sessionId: string): ChangeEvent => ({
  id: "1",
  kind: "session_revoked",
  key: sessionId,
  value: 0,
  expiresAt: Date.now() + 60_000,
});

/** A dispatcher over fakes; `answers` are the statuses the receiver gives in turn ("throw": no answer). */
function world(answers: Array<number | "throw">) {
  const clients = new MemoryOidcClientDirectory();
  clients.add({ clientId: "rp", backchannelLogoutUri: "https://rp.example/logout" });
  clients.add({ clientId: "quiet" });
  const sent: Array<{ uri: string; token: string }> = [];
  const warnings: string[] = [];
  const waits: number[] = [];
  const claims = new Set<string>();
  const dispatcher = new BackchannelLogoutDispatcher(
    {
      sessions: {
        clientsOf: async () => ({ userId: "user-1", clientIds: ["rp", "quiet", "rp"] }),
        record: async () => {},
      },
      clients,
      signer: { sign: async (claims) => JSON.stringify(claims) },
      sender: {
        send: async (uri, token) => {
          sent.push({ uri, token });
          const answer = answers.shift() ?? 200;
          if (answer === "throw") throw new Error("connection refused");
          return answer;
        },
      },
      store: {
        // Like Redis' SET NX: only the first claim of a key wins.
        setIfAbsent: async (key) => {
          if (claims.has(key)) return false;
          claims.add(key);
          return true;
        },
      },
      issuer: "https://id.example",
      warn: (message) => warnings.push(message),
      sleep: async (ms) => {
        waits.push(ms);
      },
    },
    { timeoutMs: 100, attempts: 3, retryDelayMs: 10, tokenLifetimeSeconds: 120 },
  );
  return { dispatcher, sent, warnings, waits };
}

describe("back-channel logout dispatcher", () => {
  it("sends one token per client with a URI, with the claims of §2.4, once per session however often it hears of it", async () => {
    const { dispatcher, sent } = world([]);
    dispatcher.onChange(sessionEnded("sid-1"));
    dispatcher.onChange(sessionEnded("sid-1"));
    dispatcher.onChange({ ...sessionEnded("sid-2"), kind: "token_revoked" });
    await dispatcher.close();
    expect(sent).toHaveLength(1);
    const claims = JSON.parse(sent[0]!.token);
    expect(claims).toMatchObject({
      iss: "https://id.example",
      aud: "rp",
      sid: "sid-1",
      sub: "user-1",
      events: { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    expect(claims.exp - claims.iat).toBe(120);
    expect(claims).not.toHaveProperty("nonce");
  });

  it("retries no answer and 5xx with growing waits, up to the attempts, then gives up with a warning", async () => {
    const { dispatcher, sent, warnings, waits } = world(["throw", 503, 502]);
    dispatcher.onChange(sessionEnded("sid-3"));
    await vi.waitFor(() => expect(warnings).toHaveLength(1));
    expect(sent).toHaveLength(3);
    expect(waits).toEqual([10, 20]);
    expect(warnings).toEqual(["back-channel logout not delivered"]);
  });

  it("stops retrying once closed (shutdown), after the attempt under way", async () => {
    const { dispatcher, sent } = world(["throw", "throw", "throw"]);
    dispatcher.onChange(sessionEnded("sid-5"));
    await dispatcher.close();
    expect(sent).toHaveLength(1);
  });

  it("does not retry a client that refuses the token (4xx)", async () => {
    const { dispatcher, sent, warnings } = world([400]);
    dispatcher.onChange(sessionEnded("sid-4"));
    await vi.waitFor(() => expect(warnings).toHaveLength(1));
    expect(sent).toHaveLength(1);
    expect(warnings).toEqual(["back-channel logout refused by the client"]);
  });
});
