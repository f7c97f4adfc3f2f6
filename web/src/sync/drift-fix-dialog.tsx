import { useMutation, useQuery } from "@connectrpc/connect-query";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { ErrorState } from "../components/page-states.tsx";

/**
 * One drift line's fix:
 * - import: a user only in Keycloak (or Keycloak's values for a differing one), SyncFromKeycloak
 *   for that username alone;
 * - create: a user only in Gatehouse, pushed with SyncToKeycloak, which creates and links the
 *   Keycloak user. Pushing rather than disabling: such a user is usually one made before Keycloak
 *   was switched on, or whose Keycloak write failed; one meant to go is deleted on its own page;
 * - push: differing fields, SyncToKeycloak (Gatehouse's record is authoritative for metadata).
 */
export type DriftFix =
  | { readonly kind: "import"; readonly username: string; readonly fields?: readonly string[] }
  | { readonly kind: "create"; readonly username: string }
  | {
      readonly kind: "push";
      readonly username: string;
      readonly userId: string;
      readonly fields: readonly string[];
    };

export function DriftFixDialog(props: {
  fix: DriftFix | undefined;
  onCancel: () => void;
  onFixed: (message: string) => void;
}) {
  const { fix } = props;
  const invalidate = useInvalidate();
  const settle = (message: string) => async () => {
    // Every UserService answer is read again, the drift report included.
    await invalidate(UserService);
    props.onFixed(message);
  };
  const pull = useMutation(UserService.method.syncFromKeycloak);
  const push = useMutation(UserService.method.syncToKeycloak);
  // The report names local-only users by username: find the record to push.
  const local = useQuery(
    UserService.method.listUsers,
    { query: fix?.username ?? "", pageSize: 10 },
    { enabled: fix?.kind === "create" },
  );
  const localId =
    fix?.kind === "push"
      ? fix.userId
      : local.data?.users.find((user) => user.username.toLowerCase() === fix?.username.toLowerCase())?.id;
  const error = pull.error ?? push.error ?? (fix?.kind === "create" ? local.error : null);
  const cancel = () => {
    pull.reset();
    push.reset();
    props.onCancel();
  };
  const confirm = () => {
    if (fix === undefined) return;
    if (fix.kind === "import") {
      pull.mutate(
        { username: fix.username },
        { onSuccess: settle(`${fix.username}: Keycloak's record imported.`) },
      );
    } else if (localId !== undefined) {
      push.mutate({ userId: localId }, { onSuccess: settle(`${fix.username}: pushed to Keycloak.`) });
    }
  };
  return (
    <ConfirmDialog
      open={fix !== undefined}
      danger={false}
      title={fix === undefined ? "" : TITLES[fix.kind](fix.username)}
      confirmLabel={fix?.kind === "import" ? "Import from Keycloak" : "Push to Keycloak"}
      busy={pull.isPending || push.isPending || (fix?.kind === "create" && local.isPending)}
      onCancel={cancel}
      onConfirm={confirm}
    >
      {fix === undefined ? null : <p>{explain(fix)}</p>}
      {fix?.kind === "create" && local.isSuccess && localId === undefined ? (
        <p role="alert">Gatehouse has no user named {fix.username} any more: check the drift again.</p>
      ) : null}
      {error === null ? null : <ErrorState error={error} title="The fix did not apply" />}
    </ConfirmDialog>
  );
}

const TITLES: Record<DriftFix["kind"], (username: string) => string> = {
  import: (username) => `Import ${username} from Keycloak?`,
  create: (username) => `Create ${username} in Keycloak?`,
  push: (username) => `Push ${username} to Keycloak?`,
};

function explain(fix: DriftFix): string {
  switch (fix.kind) {
    case "import":
      return fix.fields === undefined
        ? "Gatehouse creates (or links) a local record from the Keycloak user, with the user role."
        : `Gatehouse's ${fix.fields.join(", ")} take Keycloak's values.`;
    case "create":
      return "Gatehouse creates the Keycloak user from its record (or links one with the same username or email). Their password is not copied: they set one through Keycloak.";
    case "push":
      return `Keycloak's ${fix.fields.join(", ")} take Gatehouse's values (Gatehouse's record is authoritative for metadata).`;
  }
}
