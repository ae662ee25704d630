// The benchmarks' result table: one row per figure with its target and ✓/✗ (null: no target).
export interface Row {
  what: string;
  value: string;
  target: string;
  ok: boolean | null;
}

export class Table {
  readonly rows: Row[] = [];
  /** records a figure (and echoes it to stderr at once, so a long run shows progress) */
  row(what: string, value: string, target: string, ok: boolean | null): void {
    this.rows.push({ what, value, target, ok });
    console.error(`  ${what}: ${value}`);
  }
  print(): void {
    const w = Math.max(...this.rows.map((r) => r.what.length));
    const v = Math.max(...this.rows.map((r) => r.value.length));
    console.log(`\n${'figure'.padEnd(w)}  ${'measured'.padEnd(v)}  target`);
    for (const r of this.rows) console.log(`${r.what.padEnd(w)}  ${r.value.padEnd(v)}  ${r.target}${r.ok === null ? '' : r.ok ? '  ✓' : '  ✗ missed'}`);
  }
}

export const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
