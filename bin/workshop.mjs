#!/usr/bin/env node
// Launches the `workshop` CLI (TypeScript, loaded through tsx).
import { register } from 'tsx/esm/api';

register();
await import('../harness/cli/main.ts');
