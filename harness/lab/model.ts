// The typed model of a lab or lesson page: what the parser produces and the linter, runner and site read.
import type { MajorRange } from './majors.ts';

// A place in a Markdown file, 1-based like editors show it.
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export interface FrontMatter {
  id: string;
  title: string;
  kind: 'lab' | 'lesson';
  environment?: string;
  // The majors of the version table the lab runs on: all of them unless `majors:` narrows it with a reason.
  majors: number[];
  majorsReason?: string;
  // Why the lab must have the machine to itself (it compares throughput or latency between
  // settings): `verify --jobs` runs it alone, never beside another lab.
  runsAlone?: string;
  raw: Record<string, unknown>;
}

// A runnable block: typed into a terminal as an attendee would.
export interface Step {
  id: string;
  lang: string;
  code: string;
  terminal: string;
  background: boolean;
  // Starts a program (psql) that reads the terminal; later `sql` steps of that terminal are typed into it.
  interactive: boolean;
  timeoutSeconds?: number;
  exitCode: number;
  // A key pressed in the step's terminal while it runs (Ctrl-C to end a waiting command), after a
  // time or once some text appears in its output.
  key?: KeyPress;
  // Where the page ends a background step: before this step the attendee ends it (`stops`, Ctrl-C
  // in its terminal) or waits until it has ended by itself (`waits`).
  stops?: string;
  waits?: string;
  pg?: MajorRange;
  // Why the output is not checked on majors that no expectation covers (`unchecked="…"`).
  unchecked?: string;
  position: SourcePosition;
  // Line of the block's first code line, for errors inside the code.
  codeLine: number;
}

// The keys a step may press (`key=`), by the names a page uses.
export const KEYS = { 'ctrl-c': '\x03', 'ctrl-d': '\x04', 'ctrl-z': '\x1a', enter: '\r', q: 'q', escape: '\x1b' } as const;
export type KeyName = keyof typeof KEYS;

export interface KeyPress {
  key: KeyName;
  // Seconds after the step starts, or after `onText` appears when both are given.
  afterSeconds?: number;
  // Text in the step's output (after normalization) that must appear first.
  onText?: string;
}

// An `expect=<step>` block: the output a reader sees.
export interface Expectation {
  step: string;
  pg?: MajorRange;
  lines: string[];
  position: SourcePosition;
  codeLine: number;
}

// A `check=<id> title="…"` block: a checkpoint, a read-only command whose expected output (its
// `expect=<id>` block) says the state the step before it leaves. `workshop verify` runs it right
// after that step; `workshop check` runs every checkpoint against an attendee's own environment.
// It runs on its own, as `workshop check` does: a fresh non-interactive bash in the environment's
// folder with the compose project's name, nothing carried over from the terminals.
export interface Checkpoint {
  id: string;
  // What holds once the step before it has run, as the attendee reads it ("two replicas stream from pg1").
  title: string;
  lang: string;
  code: string;
  pg?: MajorRange;
  timeoutSeconds?: number;
  // The later checkpoint whose step makes this one no longer true (a row updated again, a new leader):
  // from there on it is not expected to hold.
  until?: string;
  position: SourcePosition;
  codeLine: number;
}

// A `file=<path>` block: the page shows a real file of the repository.
export interface FileBlock {
  path: string;
  lang: string;
  code: string;
  position: SourcePosition;
}

export interface Problem {
  position: SourcePosition;
  message: string;
}

export interface LabDocument {
  file: string;
  frontMatter?: FrontMatter;
  steps: Step[];
  expectations: Expectation[];
  checkpoints: Checkpoint[];
  files: FileBlock[];
  problems: Problem[];
}

export function formatPosition(position: SourcePosition): string {
  return `${position.file}:${position.line}:${position.column}`;
}

export function formatProblem(problem: Problem): string {
  return `${formatPosition(problem.position)} ${problem.message}`;
}
