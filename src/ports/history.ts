// Commit history of component source repositories, for changelogs (issue 18). Adapter: src/adapters/git.
import type { RangeHistory } from '../domain/changelog.ts';

export interface CommitHistory {
  /**
   * The first-parent commits of `source` from `from` (exclusive) to `to`, newest first, at most
   * `max` (then `capped`). A missing mirror or commit is `{missing: why}`; a failure (timeout, git
   * crashed) is `{error}`: the changelog says so and is not cached.
   */
  commits(source: string, from: string, to: string, max: number): Promise<RangeHistory>;
}
