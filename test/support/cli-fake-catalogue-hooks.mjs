// Loaded with `node --import` before bin/h1spec.mjs: swaps the real catalogue for test/support/cli-fake-catalogue.ts.
import { register } from 'node:module';

const fake = new URL('./cli-fake-catalogue.ts', import.meta.url).href;
const hooks = `
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  return resolved.url.endsWith('/conformance/catalogue/index.ts') ? { ...resolved, url: ${JSON.stringify(fake)} } : resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
