import { useMe } from "../api/me-context.tsx";
import { displayName } from "../components/format.ts";
import { PageHeader } from "../components/section.tsx";
import { useTitle } from "../router/router.tsx";
import { useSession } from "../session/session-context.tsx";
import { AccountMfaSection } from "./account-mfa-section.tsx";
import { AccountPasskeysSection } from "./account-passkeys-section.tsx";
import { AccountPasswordSection } from "./account-password-section.tsx";
import { AccountProfileSection } from "./account-profile-section.tsx";
import { AccountSessionsSection } from "./account-sessions-section.tsx";
import { AccountVaultSection } from "./account-vault-section.tsx";

/** Everyone's own page: profile, password, two-factor sign-in, passkeys, sessions, stored tokens. */
export function AccountPage() {
  useTitle("My account");
  const me = useMe();
  const user = me.response.user!;
  // Off with PASSKEYS_ENABLED=false, and under Keycloak: there they are Keycloak's own (its account console).
  const passkeys = useSession().config.passkeys;
  return (
    <>
      <PageHeader title="My account" subtitle={`${displayName(user)} · ${user.email}`} />
      <AccountProfileSection user={user} />
      <AccountPasswordSection user={user} />
      <AccountMfaSection user={user} />
      {passkeys ? <AccountPasskeysSection /> : null}
      <AccountSessionsSection />
      <AccountVaultSection />
    </>
  );
}
