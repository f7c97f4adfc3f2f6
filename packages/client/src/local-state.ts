import { timestampDate } from "@bufbuild/protobuf/wkt";
import { changeExpiry } from "./change-watcher.ts";
import { type Change, ChangeKind } from "./gen/gatehouse/v1/auth_pb.js";

/** The parts of a verified token that revocations are checked against. */
export interface TokenFacts {
  readonly subjectId: string;
  readonly sessionId: string;
  readonly tokenId: string;
  /** Epoch seconds. */
  readonly issuedAt: number;
}

/** A subject's answer from VerifyToken for one (service, role) question. */
export interface RememberedAccess {
  readonly granted: boolean;
  readonly role: string;
  readonly denialReason: string;
  readonly kind: "user" | "service_account";
  readonly username: string;
  /** Epoch ms after which it is asked again even if no change was heard. */
  readonly until: number;
}

/**
 * What the middleware decides from without asking Gatehouse: revoked
 * sessions, tokens and subject cutoffs, and subjects' answers for a service —
 * all kept current by WatchChanges. An access change drops the subject's
 * answers (every subject's for "*", or any service change).
 */
export class LocalState {
  private readonly sessions = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
  private readonly cutoffs = new Map<string, { cutoff: number; until: number }>();
  /** subject id → question → answer. */
  private readonly answers = new Map<string, Map<string, RememberedAccess>>();
  private readonly maxSubjects: number;
  /** Bumped by every change: an answer fetched across a change is not kept. */
  private generationValue = 0;

  constructor(maxSubjects = 100_000) {
    this.maxSubjects = maxSubjects;
  }

  get generation(): number {
    return this.generationValue;
  }

  reset(): void {
    this.generationValue++;
    this.sessions.clear();
    this.tokens.clear();
    this.cutoffs.clear();
    this.answers.clear();
  }

  apply(change: Change, now = Date.now()): void {
    this.generationValue++;
    const until = changeExpiry(change);
    if (until <= now) return;
    switch (change.kind) {
      case ChangeKind.SESSION_REVOKED:
        this.sessions.set(change.key, Math.max(until, this.sessions.get(change.key) ?? 0));
        break;
      case ChangeKind.TOKEN_REVOKED:
        this.tokens.set(change.key, Math.max(until, this.tokens.get(change.key) ?? 0));
        break;
      case ChangeKind.SUBJECT_REVOKED: {
        const cutoff =
          change.issuedBefore === undefined
            ? 0
            : Math.floor(timestampDate(change.issuedBefore).getTime() / 1000);
        const current = this.cutoffs.get(change.key);
        if (current === undefined || current.cutoff < cutoff) this.cutoffs.set(change.key, { cutoff, until });
        this.answers.delete(change.key);
        break;
      }
      case ChangeKind.ACCESS_CHANGED:
        if (change.key === "*") this.answers.clear();
        else this.answers.delete(change.key);
        break;
      case ChangeKind.SERVICES_CHANGED:
        this.answers.clear();
        break;
      default:
        // A kind this version does not know may change any answer.
        this.answers.clear();
    }
  }

  /** Why the token is revoked, or undefined. */
  revocationOf(token: TokenFacts): "session_revoked" | "token_revoked" | "subject_revoked" | undefined {
    if (token.sessionId !== "" && this.sessions.has(token.sessionId)) return "session_revoked";
    if (token.tokenId !== "" && this.tokens.has(token.tokenId)) return "token_revoked";
    const cutoff = this.cutoffs.get(token.subjectId);
    if (cutoff !== undefined && token.issuedAt <= cutoff.cutoff) return "subject_revoked";
    return undefined;
  }

  answer(subjectId: string, question: string, now = Date.now()): RememberedAccess | undefined {
    const answer = this.answers.get(subjectId)?.get(question);
    return answer !== undefined && answer.until > now ? answer : undefined;
  }

  /** Keeps an answer unless a change arrived since `generation` (when it was asked). */
  remember(subjectId: string, question: string, answer: RememberedAccess, generation: number): void {
    if (generation !== this.generationValue) return;
    let questions = this.answers.get(subjectId);
    if (questions === undefined) {
      // Bounded: past the limit the oldest subject goes (Map keeps insertion order).
      if (this.answers.size >= this.maxSubjects) this.answers.delete(this.answers.keys().next().value!);
      questions = new Map();
      this.answers.set(subjectId, questions);
    }
    questions.set(question, answer);
  }

  /** Drops entries no token can be rejected by any more. */
  sweep(now = Date.now()): void {
    for (const [key, until] of this.sessions) if (until <= now) this.sessions.delete(key);
    for (const [key, until] of this.tokens) if (until <= now) this.tokens.delete(key);
    for (const [key, entry] of this.cutoffs) if (entry.until <= now) this.cutoffs.delete(key);
  }

  /** Entries held (revocations, subjects with answers). */
  size(): { revocations: number; subjects: number } {
    return {
      revocations: this.sessions.size + this.tokens.size + this.cutoffs.size,
      subjects: this.answers.size,
    };
  }
}
