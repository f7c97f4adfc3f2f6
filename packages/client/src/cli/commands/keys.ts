import type { Command } from "../command.ts";
import { UsageError } from "../exit-codes.ts";
import { fields, table, time } from "../output.ts";

export const keyCommands: readonly Command[] = [
  {
    path: ["keys", "rotate-signing-key"],
    summary: "Rotate the issuer's signing keys now (published at once, signing in ~5 minutes)",
    details:
      "The successors appear in the JWKS at once and start signing when every verifier caching it\n" +
      "(max-age 300 s) has seen them; the current keys keep verifying what they signed, so no token\n" +
      "or session breaks. Running it again while a rotation is pending changes nothing.\n" +
      "Under Keycloak the realm signs: rotate its keys there (exit status 7).",
    async run(context) {
      const { keys } = await context.clients().auth.rotateSigningKeys({});
      context.print(
        keys.map((key) => ({
          kid: key.kid,
          algorithm: key.algorithm,
          activateTime: time(key.activateTime),
          previousRetireTime: time(key.previousRetireTime),
        })),
        () =>
          table(
            ["ALGORITHM", "NEW KID", "SIGNS FROM"],
            keys.map((key) => [key.algorithm, key.kid, time(key.activateTime)]),
          ),
      );
    },
  },
  {
    path: ["keys", "vault-reencrypt"],
    summary: "Move every token-vault entry to the active key (VAULT_ACTIVE_KEY), online",
    details:
      "Rotation: add the new key to VAULT_KEYS on every replica, make it VAULT_ACTIVE_KEY, run this;\n" +
      "once it reports 0 left, the old key may be removed. Safe to stop and run again.\n" +
      "Exit status 1 when entries that cannot be opened remain.",
    flags: { batch: { type: "string", value: "N", help: "entries per call (default 500)" } },
    async run(context) {
      const batch = Number(context.flags.batch ?? 500);
      if (!Number.isInteger(batch) || batch < 1 || batch > 10_000)
        throw new UsageError("--batch is 1 to 10000");
      const { vault } = context.clients();
      let resealed = 0;
      for (;;) {
        const step = await vault.reencryptVault({ maxEntries: batch });
        resealed += step.resealed;
        const stuck = step.remaining <= step.failedEntryIds.length;
        if (!context.json) {
          context.io.write(`re-encrypted ${resealed}, left under other keys ${step.remaining}\n`);
        }
        if (step.remaining === 0 || stuck) {
          context.print(
            {
              activeKeyId: step.activeKeyId,
              resealed,
              remaining: step.remaining,
              failedEntryIds: step.failedEntryIds,
            },
            () =>
              fields([
                ["active key", step.activeKeyId],
                ["re-encrypted", String(resealed)],
                ["cannot be opened", step.failedEntryIds.join(" ") || "none"],
              ]),
          );
          if (step.failedEntryIds.length > 0) {
            throw new Error(
              `${step.failedEntryIds.length} entries cannot be opened and stay under their old key`,
            );
          }
          return;
        }
      }
    },
  },
];
