import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { currentStamp, prebuiltWorkflowBundle } from '../../src/runtime/workflow-bundle';
import { ROOT } from '../harness/cli';

/** A checkout in miniature: src/, dist/ with compiled code, a lockfile, and a bundle stamped from them. */
function miniCheckout(): { root: string; dist: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bundle-'));
  const dist = path.join(root, 'dist');
  fs.mkdirSync(path.join(root, 'src', 'workflows'), { recursive: true });
  fs.mkdirSync(path.join(dist, 'workflows'), { recursive: true });
  fs.writeFileSync(path.join(root, 'src', 'workflows', 'index.ts'), 'export const a = 1;\n');
  fs.writeFileSync(path.join(dist, 'workflows', 'index.js'), 'exports.a = 1;\n');
  fs.writeFileSync(path.join(root, 'package-lock.json'), '{"lockfileVersion":3}\n');
  fs.writeFileSync(path.join(dist, 'workflow-bundle.js'), '/* bundle */');
  fs.writeFileSync(path.join(dist, 'workflow-bundle.json'), JSON.stringify(currentStamp(dist)));
  return { root, dist };
}

describe('the prebuilt workflow bundle', () => {
  it('is used while the compiled code and the sources match its stamp', () => {
    const { dist } = miniCheckout();
    expect(prebuiltWorkflowBundle('code', dist)).toEqual({ codePath: path.join(dist, 'workflow-bundle.js') });
    expect(prebuiltWorkflowBundle('sources', dist)).toEqual({ codePath: path.join(dist, 'workflow-bundle.js') });
  });

  it('is refused once the compiled code changes (a hand-run tsc, a partial copy), so a worker bundles for itself', () => {
    const { dist } = miniCheckout();
    fs.writeFileSync(path.join(dist, 'workflows', 'index.js'), 'exports.a = 2;\n');
    expect(prebuiltWorkflowBundle('code', dist)).toBeUndefined();
  });

  it('is refused by the test harness once a source changes without a build', () => {
    const { root, dist } = miniCheckout();
    fs.writeFileSync(path.join(root, 'src', 'workflows', 'index.ts'), 'export const a = 2;\n');
    expect(prebuiltWorkflowBundle('sources', dist)).toBeUndefined();
    // The compiled code did not change, so a deployed worker (which has no sources) still trusts it.
    expect(prebuiltWorkflowBundle('code', dist)).toBeDefined();
  });

  it('is refused when the dependencies change (the bundle includes them) or the stamp is missing', () => {
    const a = miniCheckout();
    fs.writeFileSync(path.join(a.root, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
    expect(prebuiltWorkflowBundle('code', a.dist)).toBeUndefined();
    const b = miniCheckout();
    fs.rmSync(path.join(b.dist, 'workflow-bundle.json'));
    expect(prebuiltWorkflowBundle('code', b.dist)).toBeUndefined();
    const c = miniCheckout();
    fs.writeFileSync(path.join(c.dist, 'workflow-bundle.json'), 'not json');
    expect(prebuiltWorkflowBundle('code', c.dist)).toBeUndefined();
  });

  it('the build (npm test builds first) wrote one for exactly this checkout', () => {
    const built = prebuiltWorkflowBundle('sources', path.join(ROOT, 'dist'));
    expect(built).toBeDefined();
    expect(fs.readFileSync(built!.codePath, 'utf8')).toContain('runPlaybook');
  });
});
