/**
 * Following data that grows at its end, inside one long-running process (`fxflow watch`): when
 * switched on (src/steps/following.ts), `fetch` of a CSV file or a PostgreSQL table, `features`, `predict` and `replay` keep what
 * they read and computed, and a rerun on the same file with bars appended extends it instead of starting
 * over (docs/incremental.md). The steps ask these hooks first; the hooks live apart from the steps
 * so a step's module imports neither follower (they import the steps).
 */
import type { Candles, Features } from '../core/artifacts.js';
import type { StepContext } from './define.js';
import type { FetchParams } from './fetch/params.js';
import type { FeaturesParams } from './features/params.js';

export interface FollowHooks {
  /** The candles of a followed CSV file, or undefined: read it as a run does. */
  fetch?: (params: FetchParams, files: string[], ctx: StepContext) => Candles | undefined;
  /** The candles of a followed PostgreSQL table, or undefined: read it as a run does. */
  table?: (params: FetchParams, ctx: StepContext) => Promise<Candles | undefined>;
  /** The features of candles extending ones seen before, or undefined: compute them as a run does. */
  features?: (candles: Candles, params: FeaturesParams, ctx: StepContext) => Features | undefined;
  /**
   * What a predict step kept from its last run with this key (its id and features), to extend it
   * (its PredictMemory; made by `init` the first time). Generic: the hooks import no step's code.
   */
  predict?: <T extends object>(key: string, init: () => T) => T;
  /** What a replay step kept from its last run with this key (its ReplayMemory, made by `init` the first time). */
  replay?: <T extends object>(key: string, init: () => T) => T;
  /**
   * Step kinds whose memory lives in this process: a runner keeps them out of its worker processes
   * while following (a worker would start from nothing every time).
   */
  inProcess?: ReadonlySet<string>;
}

let hooks: FollowHooks = {};

export function followHooks(): FollowHooks {
  return hooks;
}

export function setFollowHooks(h: FollowHooks): void {
  hooks = h;
}
