// The read-only view of the whole state that pure decision functions receive.
import type { InputTag, JobRun, Payload, Pin, PublishedRef, StreamRecord, UpgradeResult } from './types.ts';

export interface WorldView {
  streams(): StreamRecord[];
  stream(name: string): StreamRecord | undefined;
  /** newest first by creation time */
  payloads(stream: string): readonly Payload[];
  payload(stream: string, tag: string): Payload | undefined;
  findTag(tag: string): Payload | undefined;
  runs(stream: string, tag: string): readonly JobRun[];
  /** every periodic run of a stream */
  periodicRuns(stream: string): JobRun[];
  inputTags(input: string): InputTag[];
  upgradesInto(tag: string): readonly UpgradeResult[];
  upgradesOutOf(tag: string): readonly UpgradeResult[];
  published(stream: string): PublishedRef[];
  /** pinned components of an input stream (absent: none) */
  pins?(input: string): Pin[];
  /**
   * Was a payload of this name deleted (pruned, collected) lately? A new payload is never given
   * such a name: names have a resolution of one second, and a stream whose newest payload was
   * pruned builds it again at once (absent: none known).
   */
  recentlyDeleted?(stream: string, tag: string): boolean;
}
