/** The user fields a decision reports (VerifyToken's `user`): the users module's read model. */
export type { User as DomainUser } from "../users/user.ts";
