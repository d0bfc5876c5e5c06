/**
 * The idle timer of the kernels' kept resources (PAMR's memory, the helper-thread teams): it fires once a given
 * time has passed since its last restart, and never keeps the process alive.
 *
 * @module
 */

/** A restartable one-shot timer. */
export interface IdleTimer {
  /** (Re)starts the countdown: `fire` runs `ms` from now unless restarted or cancelled first. */
  restart(ms: number): void;
  /** Stops the countdown. */
  cancel(): void;
}

/**
 * Makes an idle timer.
 *
 * @param fire What to run when the time is up.
 * @returns The timer, stopped.
 *
 * @example
 * ```ts
 * import { idleTimer } from "./idle_timer.ts";
 * let fired = false;
 * const timer = idleTimer(() => fired = true);
 * timer.restart(1);
 * await new Promise((r) => setTimeout(r, 20));
 * if (!fired) throw new Error("the timer did not fire");
 * ```
 */
export function idleTimer(fire: () => void): IdleTimer {
  let id: ReturnType<typeof setTimeout> | undefined;
  const cancel = () => {
    if (id !== undefined) clearTimeout(id);
    id = undefined;
  };
  return {
    restart(ms) {
      cancel();
      id = setTimeout(() => {
        id = undefined;
        fire();
      }, ms);
      (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno?.unrefTimer(id as unknown as number);
    },
    cancel,
  };
}
