#!/usr/bin/env node
// The `stockledger` command (package.json `bin`). Node 20 cannot load TypeScript by itself, so this
// plain JavaScript entry registers tsx's loader, then loads the CLI.

import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
