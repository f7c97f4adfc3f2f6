import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { RoleService } from "../../../src/gen/gatehouse/v1/role_pb.js";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { describeError } from "../api/describe-error.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ErrorState } from "../components/page-states.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { TextField } from "../components/text-field.tsx";
import { navigate, useTitle } from "../router/router.tsx";
import { describePasswordPolicy } from "../session/frontend-config.ts";
import { useSession } from "../session/session-context.tsx";
import { EMPTY_PROFILE, ProfileFields, toProfileChanges } from "./profile-fields.tsx";

/** CreateUser: identity, an optional first password (without one the user is invited), profile, roles. */
export function UserCreatePage() {
  useTitle("Create user");
  const me = useMe();
  const session = useSession();
  const invalidate = useInvalidate();
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [emailVerified, setEmailVerified] = useState(true);
  const [profile, setProfile] = useState(EMPTY_PROFILE);
  const [roles, setRoles] = useState<string[]>([]);
  const roleList = useQuery(
    RoleService.method.listRoles,
    { pageSize: 500 },
    { enabled: me.can("roles.read") },
  );
  const createUser = useMutation(UserService.method.createUser, {
    onSuccess: async (response) => {
      await invalidate(UserService);
      navigate(`/console/users/${response.user!.id}`);
    },
  });
  const errors =
    createUser.error === null ? new Map<string, string>() : describeError(createUser.error).fields;

  return (
    <>
      <PageHeader title="Create user" />
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          createUser.mutate({
            username,
            email,
            password,
            emailVerified,
            profile: toProfileChanges(profile),
            roles,
          });
        }}
      >
        <Section title="Identity">
          <div className="form-grid">
            <TextField
              label="Username"
              required
              value={username}
              onChange={setUsername}
              autoComplete="off"
              error={errors.get("username")}
              hint="3–64 letters, digits and . _ @ -"
            />
            <TextField
              label="Email"
              type="email"
              required
              value={email}
              onChange={setEmail}
              autoComplete="off"
              error={errors.get("email")}
            />
            <TextField
              label="Initial password (optional)"
              type="password"
              autoComplete="new-password"
              value={password}
              onChange={setPassword}
              error={errors.get("password")}
              hint={`${describePasswordPolicy(session.config.passwordPolicy)} Leave empty to email an invitation instead.`}
            />
            <label className="checkbox">
              <input
                type="checkbox"
                checked={emailVerified}
                onChange={(e) => setEmailVerified(e.target.checked)}
              />
              Email address is verified
            </label>
          </div>
        </Section>
        <Section title="Profile and metadata">
          <ProfileFields draft={profile} onChange={setProfile} errors={errors} prefix="profile." />
        </Section>
        {me.can("roles.assign") && roleList.data !== undefined ? (
          <Section title="Roles">
            <fieldset className="checkbox-list">
              <legend className="visually-hidden">Roles</legend>
              {roleList.data.roles.map((role) => (
                <label className="checkbox" key={role.id}>
                  <input
                    type="checkbox"
                    checked={roles.includes(role.name)}
                    onChange={(e) =>
                      setRoles(
                        e.target.checked ? [...roles, role.name] : roles.filter((r) => r !== role.name),
                      )
                    }
                  />
                  {role.name}
                  <span className="muted small">{role.description}</span>
                </label>
              ))}
            </fieldset>
          </Section>
        ) : null}
        {createUser.error === null ? null : (
          <ErrorState error={createUser.error} title="The user was not created" />
        )}
        <div className="form-actions">
          <Button onClick={() => navigate("/console/users")}>Cancel</Button>
          <Button type="submit" variant="primary" busy={createUser.isPending}>
            Create user
          </Button>
        </div>
      </form>
    </>
  );
}
