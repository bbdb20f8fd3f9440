// The declaration of the `./cli` entry as importers see it (bbalpha's `alphadrop` forwards
// `sweep` and `worker` here): its one function, so that type-checking an importer does not
// pull this package's sources into the importer's program. src/cli.ts checks it matches.

/** Runs `sweep ...` or `worker ...` (argv without node and the script); resolves to the exit status. */
export declare function main(argv: readonly string[], io?: { log(line: string): void }): Promise<number>;
