// The running qualifiers file (`serve --qualifiers FILE`, hot-reloaded) and the summary of a
// payload under it, for the API and the console. A reload changes no state (State.version stays),
// so readers that cache answers also key them on `generation`.
import { judgingConfig } from '../domain/judging.ts';
import { payloadQualifiers, type QualifiersSummary, type ReleaseQualifiers } from '../domain/qualifiers.ts';
import type { Payload } from '../domain/types.ts';
import type { State } from './state.ts';

export class QualifiersConfig {
  private current: ReleaseQualifiers;
  private gen = 0;

  constructor(initial: ReleaseQualifiers = {}) {
    this.current = initial;
  }

  get(): ReleaseQualifiers {
    return this.current;
  }

  /** bumped by every set() */
  get generation(): number {
    return this.gen;
  }

  set(q: ReleaseQualifiers): void {
    this.current = q;
    this.gen++;
  }

  /** The payload's summary (`{}` when the file defines no qualifiers or the stream is gone). */
  summary(state: Pick<State, 'stream' | 'runs'>, p: Payload): QualifiersSummary {
    const s = state.stream(p.stream);
    if (!s) return {};
    return payloadQualifiers(this.current, judgingConfig(s.config, p), p, state.runs(p.stream, p.tag));
  }
}
