// Waiting on conditions against one deadline; slow machines scale every budget by one factor.

// WORKSHOP_TIME_FACTOR multiplies every budget (CI on a loaded machine sets 2, for instance).
export function timeFactor(): number {
  const raw = process.env.WORKSHOP_TIME_FACTOR;
  if (raw === undefined || raw === '') return 1;
  const factor = Number(raw);
  if (!Number.isFinite(factor) || factor <= 0) {
    throw new Error(`WORKSHOP_TIME_FACTOR: expected a positive number, found \`${raw}\``);
  }
  return factor;
}

// A budget in milliseconds, scaled for this machine.
export function budget(ms: number): number {
  return Math.round(ms * timeFactor());
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
  constructor(readonly description: string, readonly waitedMs: number, readonly lastValue: unknown, readonly lastError: unknown) {
    const seen = lastError !== undefined
      ? `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
      : `last value seen: ${show(lastValue)}`;
    super(`Timed out after ${(waitedMs / 1000).toFixed(1)} s waiting for ${description}; ${seen}`);
  }
}

// One deadline shared by the waits of a scenario, so per-call timeouts never add up past it.
export class Deadline {
  readonly at: number;
  constructor(readonly budgetMs: number) {
    this.at = Date.now() + budgetMs;
  }
  remaining(): number {
    return Math.max(0, this.at - Date.now());
  }
  get expired(): boolean {
    return this.remaining() === 0;
  }
}

export interface PollOptions {
  // Either a budget of its own (scaled by the time factor) or a shared deadline.
  timeoutMs?: number;
  deadline?: Deadline;
  intervalMs?: number;
}

// Calls `probe` until `accept` holds for its value; errors thrown by the probe count as "not yet".
export async function pollUntil<T>(
  description: string,
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  options: PollOptions = {},
): Promise<T> {
  const deadline = options.deadline ?? new Deadline(budget(options.timeoutMs ?? 30_000));
  const interval = options.intervalMs ?? 100;
  const started = Date.now();
  let lastValue: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      lastValue = value;
      lastError = undefined;
      if (accept(value)) return value;
    } catch (error) {
      lastError = error;
    }
    if (deadline.remaining() <= 0) throw new WaitTimeoutError(description, Date.now() - started, lastValue, lastError);
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, deadline.remaining())));
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 500 ? `${value.slice(0, 500)}…` : value);
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 500 ? `${text.slice(0, 500)}…` : text;
  } catch {
    return String(value);
  }
}

// Rejects with "<what> took longer than <ms> ms" when `promise` has not settled in time.
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
