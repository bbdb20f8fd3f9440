// A sweep's grid: the points (one `reproduce uci` table each: its fixed options, its data
// sets, splits and α values) and their units (data set, split, α), each one BullMQ job.
// A unit's job id is a hash of everything its result depends on, so enqueueing the same
// unit twice (the same sweep again, or another sweep sharing the unit) adds nothing, and
// its result is computed and stored once.

import { createHash } from 'node:crypto';
import { StateError } from '@alphadrop/core';
import { canonicalJson, type UciPlan, type UciRunRecord, type UciSource, type UciUnit } from './bbalpha-cli.js';

/** What a unit's result depends on besides the unit itself: `reproduce uci`'s options (JSON: null for "the protocol's"). */
export interface UnitPlan {
  options: UciPlan['options'];
  epochs: number | null;
  hidden: number | null;
  seed: number;
  /** The yacht table shipped with the package and generated splits, not the standard split files. */
  embedded: boolean;
}

/** A BullMQ job's data: one unit of the UCI table under one plan. */
export interface UnitJob {
  experiment: 'uci';
  unit: UciUnit;
  plan: UnitPlan;
}

/** A data set as a report names it (UciSource without its data: collect runs where the data may not be). */
export interface SourceInfo {
  name: string;
  splits: number;
  origin: string;
  generated: boolean;
}

/** One table of the sweep: `reproduce uci` with these options, data sets and α values. */
export interface GridPoint {
  experiment: 'uci';
  plan: UnitPlan;
  alphas: number[];
  sources: SourceInfo[];
}

/** What a job returns: BullMQ stores it with the job, in the same step that marks it completed. */
export interface UnitResult {
  unit: UciUnit;
  record: UciRunRecord & { run: { worker: string } };
  worker: string;
}

const hash = (v: unknown): string => createHash('sha256').update(canonicalJson(v)).digest('hex');

/** The job id of a unit: its experiment, unit and plan, hashed (no ':' — BullMQ keys use it). */
export function unitJobId(job: UnitJob): string {
  return `${job.experiment}-${hash({ experiment: job.experiment, unit: job.unit, plan: job.plan }).slice(0, 40)}`;
}

export function pointId(p: GridPoint): string {
  return `point-${hash(p).slice(0, 40)}`;
}

/** Every unit of a point, in the order `reproduce uci` records them (data set, split, α). */
export function unitsOf(p: GridPoint): UnitJob[] {
  const jobs: UnitJob[] = [];
  for (const s of p.sources)
    for (let split = 0; split < s.splits; split++)
      for (const alpha of p.alphas) jobs.push({ experiment: 'uci', unit: { dataset: s.name, alpha, split }, plan: p.plan });
  return jobs;
}

/** The directory name of a point's table: the options that vary in a grid, and a hash of the rest. */
export function pointLabel(p: GridPoint): string {
  const o = p.plan.options;
  return `dropout-${o.dropout}_samples-${o.samples}_lr-${o.lr}_${pointId(p).slice(6, 14)}`;
}

/** The `reproduce uci` plan of a point, writing to `out`; its sources hold no data (reports never read splits). */
export function reportPlan(p: GridPoint, out: string): UciPlan {
  const sources: UciSource[] = p.sources.map((s) => ({
    ...s,
    split: () => {
      throw new StateError(`sweep collect: ${s.name}`, 'a report that reads results only', 'a request for its splits (not loaded here)');
    },
  }));
  return { sources, alphas: p.alphas, epochs: p.plan.epochs ?? undefined, hidden: p.plan.hidden ?? undefined, seed: p.plan.seed, options: p.plan.options, out };
}

/** The points of a grid: every combination of the list-valued options, in the order given. */
export function gridPoints(lists: { dropout: readonly number[]; samples: readonly number[]; lr: readonly number[] }, point: (v: { dropout: number; samples: number; lr: number }) => GridPoint): GridPoint[] {
  return lists.dropout.flatMap((dropout) => lists.samples.flatMap((samples) => lists.lr.map((lr) => point({ dropout, samples, lr }))));
}
