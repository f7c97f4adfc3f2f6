import { useQuery } from "@connectrpc/connect-query";
import { createContext, type ReactNode, useContext } from "react";
import { AuthService, type GetMeResponse } from "../../../src/gen/gatehouse/v1/auth_pb.js";
import { ErrorState, Loading } from "../components/page-states.tsx";

export interface Me {
  readonly response: GetMeResponse;
  /** Whether the signed-in user holds an RBAC permission: what the app offers follows it. */
  can(permission: string): boolean;
}

const MeContext = createContext<Me | undefined>(undefined);

/** GetMe once per session (cached by TanStack Query), shared by the whole app. */
export function MeProvider(props: { children: ReactNode }) {
  const query = useQuery(AuthService.method.getMe, {});
  if (query.isPending) return <Loading label="Loading your account…" />;
  if (query.isError) return <ErrorState error={query.error} title="Your account could not be loaded" />;
  const permissions = new Set(query.data.permissions);
  const me: Me = { response: query.data, can: (permission) => permissions.has(permission) };
  return <MeContext.Provider value={me}>{props.children}</MeContext.Provider>;
}

export function useMe(): Me {
  const me = useContext(MeContext);
  if (me === undefined) throw new Error("useMe outside MeProvider");
  return me;
}
