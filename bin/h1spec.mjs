#!/usr/bin/env node
// The sources are TypeScript run through tsx, so a fresh clone needs no build step before `npx h1spec`.
import { register } from 'tsx/esm/api';

register();
await import('../conformance/cli.ts');
