// What the HTTP API and the CLI may ask the controller to do. Implemented by Controller.
import type { EventRecord } from '../domain/types.ts';
import type { EventQuery } from '../ports/store.ts';
import type { State } from './state.ts';

export type OperationErrorCode = 'bad_request' | 'not_found' | 'conflict';

/** A refused operation; the HTTP layer maps code → 400 / 404 / 409 with `message`. */
export class OperationError extends Error {
  constructor(
    readonly code: OperationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface Operations {
  /** the in-memory view every read uses */
  readonly state: State;
  /** one call is one atomic input change (components → pull specs) */
  setInputTags(input: string, tags: Record<string, string>, user: string, labels?: Record<string, Record<string, string>>): Promise<void>;
  overridePhase(stream: string, tag: string, phase: 'Accepted' | 'Rejected', reason: string, user: string): Promise<void>;
  qeVerdict(stream: string, tag: string, verdict: 'QEAccepted' | 'QERejected', reason: string, user: string): Promise<void>;
  qeRerun(stream: string, tag: string, reason: string, user: string): Promise<void>;
  retryJob(stream: string, tag: string, verifyName: string, reason: string, user: string): Promise<void>;
  listEvents(q: EventQuery): Promise<EventRecord[]>;
  /** live feed of appended events; returns an unsubscribe function */
  subscribe(listener: (e: EventRecord) => void): () => void;
  /** true once the state is loaded and the first reconcile of every stream is done */
  ready(): boolean;
}
