// The pieces of bbalpha's command line that the sweep commands reuse: the strict flag parser,
// the shared flag entries, the backend choice and the UCI reproduction (its units, journal
// and report). They are not part of bbalpha's published entries (those are the browser-safe
// library and the `alphadrop` bin), so this private, source-run package imports them from
// bbalpha's sources; this file is the one place that does.

export { parseCommandLine, type ParsedArgs } from '../../bbalpha/src/cli/parse.js';
export type { Flag } from '../../bbalpha/src/cli/flags.js';
export { helpText } from '../../bbalpha/src/cli/help.js';
export { runCommandLine } from '../../bbalpha/src/cli/main.js';
export { runWhenStarted } from '../../bbalpha/src/cli/entry.js';
export { backendOf, flag, type Command, type Io, type Plan } from '../../bbalpha/src/cli/common.js';
export { checkOutputDir, createOutputDirs, writeTextFile } from '../../bbalpha/src/cli/paths.js';
export { reproduceCommand, uciPlanOptions, uciSources } from '../../bbalpha/src/cli/commands/reproduce.js';
export { selectBackend } from '../../bbalpha/src/backend-select.js';
export {
  embeddedYachtSource, fileSource, openUciJournal, runUciUnits, writeUciReport,
  type UciPlan, type UciRunRecord, type UciSource, type UciUnit,
} from '../../bbalpha/src/reproduce/uci.js';
export { canonicalJson, type JsonValue } from '../../bbalpha/src/runs/journal.js';
export { UCI_DEFAULTS } from '../../bbalpha/src/experiments/uci.js';
