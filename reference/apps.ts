import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { probeApplication } from '../conformance/probes/probe.ts';
import { helloApplication } from './application.ts';
import type { Application } from './gateway.ts';

export const BUILT_IN_APPS: Readonly<Record<string, Application>> = { probe: probeApplication, hello: helloApplication };

/** `--app probe|hello|FILE`: a built-in, or a module whose `application` export is a gateway application. */
export async function loadApplication(spec: string): Promise<Application> {
  const builtIn = BUILT_IN_APPS[spec];
  if (builtIn) return builtIn;
  let module: { application?: unknown; default?: unknown };
  try {
    module = (await import(pathToFileURL(path.resolve(spec)).href)) as typeof module;
  } catch (err) {
    throw new Error(`--app ${spec}: not a built-in app (${Object.keys(BUILT_IN_APPS).join(', ')}) and cannot be loaded: ${(err as Error).message.split('\n')[0]}`);
  }
  const application = module.application ?? module.default;
  if (typeof application !== 'function') throw new Error(`--app ${spec}: the module exports no 'application' function`);
  return application as Application;
}
