import type { Argv } from 'yargs';
export function registerTop(_cli: Argv): void {}
