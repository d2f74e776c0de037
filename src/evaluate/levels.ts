// Severity levels with hysteresis: an open alert stays at its level until the value is past
// the threshold by `hysteresis`, so a value hovering at the threshold does not flap.

import type { Level, Severity } from '../domain/rule.js';
import { severityRank } from '../domain/rule.js';

/** `ge`: the level is reached when value ≥ at; `le`: when value ≤ at. */
export type Reach = 'ge' | 'le';

export function reaches(value: number, at: number, dir: Reach): boolean {
  return dir === 'ge' ? value >= at : value <= at;
}

/** True when an open alert already holds `level` (its severity or a higher one). */
export function isHeld(level: Level, open: Severity | undefined): boolean {
  return open !== undefined && severityRank(level.severity) <= severityRank(open);
}

/** The threshold that applies to `level` now: loosened by `hysteresis` while it is held. */
export function effectiveAt(level: Level, dir: Reach, hysteresis: number, open: Severity | undefined): number {
  if (!isHeld(level, open)) return level.at;
  return dir === 'ge' ? level.at - hysteresis : level.at + hysteresis;
}

/** The most severe level the value reaches (levels are sorted most severe first). */
export function levelFor(
  levels: readonly Level[],
  value: number,
  dir: Reach,
  hysteresis: number,
  open: Severity | undefined,
): Level | undefined {
  return levels.find((l) => reaches(value, effectiveAt(l, dir, hysteresis, open), dir));
}

/** The least severe level (the one that decides whether anything fires at all). */
export function mildestLevel(levels: readonly Level[]): Level {
  return levels[levels.length - 1]!;
}
