import type { Argv } from 'yargs';
export function registerRecord(_cli: Argv): void {}
