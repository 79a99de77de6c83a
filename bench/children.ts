// Runs one bench/child.ts task in a fresh Node process and returns the JSON it printed.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const childScript = path.join(REPOSITORY_ROOT, 'bench', 'child.ts');

export type ChildResult = Readonly<Record<string, number | boolean | string>>;

export interface ChildRun {
  readonly result: ChildResult;
  /** Wall time of the whole process, Node and tsx start-up included. */
  readonly processMs: number;
}

export function runChild(
  task: string,
  parameters: Readonly<Record<string, string | number>>,
  options: { readonly exposeGc?: boolean } = {},
): Promise<ChildRun> {
  const flags = options.exposeGc === true ? ['--expose-gc'] : [];
  const startedMs = performance.now();
  const child = spawn(
    process.execPath,
    [...flags, '--import', 'tsx', childScript, task, JSON.stringify(parameters)],
    {
      cwd: REPOSITORY_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise<ChildRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const processMs = performance.now() - startedMs;
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || last === '') {
        reject(
          new Error(
            `bench child ${task} ended with ${signal ?? `code ${code}`}: ${stderr.trim().slice(-2000)}`,
          ),
        );
        return;
      }
      resolve({ result: JSON.parse(last) as ChildResult, processMs });
    });
  });
}
