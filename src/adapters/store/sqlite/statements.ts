// Every SQL statement of the SQLite store, prepared once per connection. All values are bound
// parameters; the only interpolations are the constant column lists from rows.ts.
import type Database from 'better-sqlite3';
import { EVENT_COLS, INPUT_TAG_COLS, JOB_RUN_COLS, PAYLOAD_COLS, PIN_COLS, PUBLISHED_COLS, STREAM_COLS, UPGRADE_COLS } from './rows.ts';

const params = (n: number) => Array.from({ length: n }, () => '?').join(', ');
const prefixed = (alias: string, cols: string) => cols.split(', ').map((c) => `${alias}.${c}`).join(', ');

/** Runs of payloads still deciding, plus every Pending or periodic run (mirrors isSettled in controller/state.ts). */
// Runs of deciding payloads (through the payload index) plus every Pending or periodic run (partial
// indexes of migration 2), without scanning every run: CROSS JOIN keeps payloads the outer loop
// (SQLite's planner otherwise scans every job run and looks its payload up: 1.9 s instead of 80 ms
// at 1.9M runs).
const ACTIVE_RUNS = `
  SELECT ${prefixed('r', JOB_RUN_COLS)} FROM job_runs r WHERE r.rowid IN (
    SELECT r2.rowid FROM payloads p CROSS JOIN job_runs r2 ON r2.stream = p.stream AND r2.tag = p.tag
      WHERE p.phase IN ('Pending', 'Ready') OR json_extract(p.qe, '$.state') IN ('QEPending', 'QERunning')
         OR (p.phase = 'Accepted' AND json_extract(p.jobs, '$.ciDone') = 0)
    UNION SELECT rowid FROM job_runs WHERE state = 'Pending'
    UNION SELECT rowid FROM job_runs WHERE kind = 'periodic')
  ORDER BY r.rowid`;

export function prepareStatements(db: Database.Database) {
  const raw = (sql: string) => db.prepare(sql).raw();
  return {
    // writes
    putStream: db.prepare(
      `INSERT INTO streams (${STREAM_COLS}) VALUES (${params(9)})
       ON CONFLICT (name) DO UPDATE SET config = excluded.config, source_file = excluded.source_file, input = excluded.input,
         errors = excluded.errors, warnings = excluded.warnings, locked = excluded.locked, conditions = excluded.conditions, lock_info = excluded.lock_info`,
    ),
    deleteStream: db.prepare('DELETE FROM streams WHERE name = ?'),
    deleteInputTags: db.prepare('DELETE FROM input_tags WHERE input = ?'),
    insertInputTag: db.prepare(`INSERT INTO input_tags (${INPUT_TAG_COLS}) VALUES (${params(5)})`),
    deletePins: db.prepare('DELETE FROM pins WHERE input = ?'),
    insertPin: db.prepare(`INSERT INTO pins (${PIN_COLS}) VALUES (${params(8)})`),
    putPayload: db.prepare(
      `INSERT INTO payloads (${PAYLOAD_COLS}) VALUES (${params(16)})
       ON CONFLICT (stream, tag) DO UPDATE SET phase = excluded.phase, created_at = excluded.created_at, input_hash = excluded.input_hash,
         pull_spec = excluded.pull_spec, digest = excluded.digest, components = excluded.components, reason = excluded.reason,
         message = excluded.message, annotations = excluded.annotations, override = excluded.override, qe = excluded.qe,
         phase_changed_at = excluded.phase_changed_at, jobs = excluded.jobs,
      mirror_repository = excluded.mirror_repository`,
    ),
    /** job runs go with it (ON DELETE CASCADE); events stay */
    deletePayload: db.prepare('DELETE FROM payloads WHERE stream = ? AND tag = ?'),
    /** before deletePayload: the upgrade results of its runs (through job_runs_payload and the upgrades key) */
    deletePayloadUpgrades: db.prepare('DELETE FROM upgrades WHERE run_id IN (SELECT id FROM job_runs WHERE stream = ? AND tag = ?)'),
    /**
     * events older than the cutoff (partial index events_prunable) of payloads that are gone, whose
     * trail has no event at or after the cutoff (events_stream_tag)
     */
    pruneEvents: db.prepare(
      `DELETE FROM events WHERE tag <> '' AND at < @before
         AND NOT EXISTS (SELECT 1 FROM payloads p WHERE p.stream = events.stream AND p.tag = events.tag)
         AND NOT EXISTS (SELECT 1 FROM events n WHERE n.stream = events.stream AND n.tag = events.tag AND n.at >= @before)`,
    ),
    putJobRun: db.prepare(
      `INSERT INTO job_runs (${JOB_RUN_COLS}) VALUES (${params(18)})
       ON CONFLICT (id) DO UPDATE SET stream = excluded.stream, tag = excluded.tag, verify_name = excluded.verify_name,
         job_name = excluded.job_name, kind = excluded.kind, attempt = excluded.attempt, generation = excluded.generation,
         state = excluded.state, url = excluded.url, upgrade_from = excluded.upgrade_from,
         upgrade_from_pull_spec = excluded.upgrade_from_pull_spec, created_at = excluded.created_at, started_at = excluded.started_at,
         finished_at = excluded.finished_at, reason = excluded.reason, log_path = excluded.log_path, env = excluded.env`,
    ),
    appendEvent: db.prepare('INSERT INTO events (at, stream, tag, type, actor, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    putUpgrade: db.prepare(
      `INSERT INTO upgrades (${UPGRADE_COLS}) VALUES (${params(5)})
       ON CONFLICT (run_id) DO UPDATE SET from_tag = excluded.from_tag, to_tag = excluded.to_tag, url = excluded.url, state = excluded.state`,
    ),
    putPublished: db.prepare(
      `INSERT INTO published (${PUBLISHED_COLS}) VALUES (${params(4)})
       ON CONFLICT (stream, name) DO UPDATE SET tag = excluded.tag, updated_at = excluded.updated_at`,
    ),

    // whole-table reads for load(), in a stable order (job runs in insertion order)
    allStreams: raw(`SELECT ${STREAM_COLS} FROM streams ORDER BY name`),
    allInputTags: raw(`SELECT ${INPUT_TAG_COLS} FROM input_tags ORDER BY input, component`),
    allPayloads: raw(`SELECT ${PAYLOAD_COLS} FROM payloads ORDER BY stream, created_at, tag`),
    allJobRuns: raw(`SELECT ${JOB_RUN_COLS} FROM job_runs ORDER BY rowid`),
    activeJobRuns: raw(ACTIVE_RUNS),
    allUpgrades: raw(`SELECT ${UPGRADE_COLS} FROM upgrades ORDER BY to_tag, from_tag, run_id`),
    allPublished: raw(`SELECT ${PUBLISHED_COLS} FROM published ORDER BY stream, name`),
    allPins: raw(`SELECT ${PIN_COLS} FROM pins ORDER BY input, component`),
    runsOfPayload: raw(`SELECT ${JOB_RUN_COLS} FROM job_runs WHERE stream = ? AND tag = ? ORDER BY rowid`),
    allRunIds: db.prepare('SELECT id FROM job_runs').pluck(),

    // event queries, one per filter combination so each can use its index; all take (afterId, limit) last
    events: raw(`SELECT ${EVENT_COLS} FROM events WHERE id > ? ORDER BY id LIMIT ?`),
    eventsOfStream: raw(`SELECT ${EVENT_COLS} FROM events WHERE stream = ? AND id > ? ORDER BY id LIMIT ?`),
    eventsOfTag: raw(`SELECT ${EVENT_COLS} FROM events WHERE tag = ? AND id > ? ORDER BY id LIMIT ?`),
    eventsOfPayload: raw(`SELECT ${EVENT_COLS} FROM events WHERE stream = ? AND tag = ? AND id > ? ORDER BY id LIMIT ?`),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
