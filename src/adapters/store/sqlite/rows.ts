// Record ↔ row mapping for the SQLite store: rows are read with `.raw()` (arrays in SELECT column
// order). JSON columns hold JSON.stringify text; booleans are 0/1. What every adapter maps the same
// way lives in ../rows.ts.
import type { EventRecord, InputTag, Payload, Pin, StreamLock, StreamRecord } from '../../../domain/types.ts';
import { json, pinFromRow as pinFromRowWith, type Param, type Row } from '../rows.ts';

export {
  EVENT_COLS, INPUT_TAG_COLS, JOB_RUN_COLS, PAYLOAD_COLS, PIN_COLS, PUBLISHED_COLS, STREAM_COLS, UPGRADE_COLS,
  eventParams, inputTagParams, interner, jobRunFromRow, jobRunParams, payloadParams, pinParams, publishedFromRow, publishedParams,
  upgradeFromRow, upgradeParams, type Row,
} from '../rows.ts';

const parse = <T>(v: unknown): T => JSON.parse(v as string) as T;

export function streamParams(s: StreamRecord): Param[] {
  return [s.name, json(s.config), s.sourceFile, s.input, json(s.errors), json(s.warnings), s.locked ? 1 : 0, json(s.conditions ?? {}), s.lock ? json(s.lock) : null];
}

export function streamFromRow(r: Row): StreamRecord {
  return {
    name: r[0] as string,
    config: parse(r[1]),
    sourceFile: r[2] as string,
    input: r[3] as string,
    errors: parse(r[4]),
    warnings: parse(r[5]),
    locked: r[6] === 1,
    ...(r[7] && r[7] !== '{}' ? { conditions: parse<Record<string, string>>(r[7]) } : {}),
    ...(r[8] ? { lock: parse<StreamLock>(r[8]) } : {}),
  };
}

export function pinFromRow(r: Row): Pin {
  return pinFromRowWith(r, parse(r[3]));
}

export function inputTagFromRow(r: Row): InputTag {
  return { input: r[0] as string, component: r[1] as string, pullSpec: r[2] as string, labels: parse(r[3]), updatedAt: r[4] as string };
}

export function payloadFromRow(r: Row): Payload {
  return {
    stream: r[0] as string,
    tag: r[1] as string,
    phase: r[2] as Payload['phase'],
    createdAt: r[3] as string,
    inputHash: r[4] as string,
    pullSpec: r[5] as string,
    digest: r[6] as string,
    components: parse(r[7]),
    reason: r[8] as string,
    message: r[9] as string,
    annotations: parse(r[10]),
    override: r[11] === null ? null : parse(r[11]),
    qe: parse(r[12]),
    phaseChangedAt: r[13] as string,
    ...(r[14] === null || r[14] === undefined ? {} : { jobs: parse<Payload['jobs']>(r[14]) }),
    ...(r[15] ? { mirrorRepository: r[15] as string } : {}),
  };
}

export function eventFromRow(r: Row): EventRecord {
  return {
    id: r[0] as number,
    at: r[1] as string,
    stream: r[2] as string,
    tag: r[3] as string,
    type: r[4] as string,
    actor: r[5] as string,
    message: r[6] as string,
    data: parse(r[7]),
  };
}
