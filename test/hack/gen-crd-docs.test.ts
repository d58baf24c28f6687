import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { generatedReference, referenceFile } from '../../hack/gen-crd-docs.js';

interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
  'x-kubernetes-validations'?: { rule: string; message?: string }[];
}

const crdRoot = (): Schema => {
  const crd = parse(readFileSync(new URL('../../crds/authservice.yaml', import.meta.url), 'utf8')) as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
  return crd.spec.versions[0]?.schema.openAPIV3Schema ?? {};
};

/** Every property path under a schema, arrays' items included. */
function fieldPaths(path: string, schema: Schema): string[] {
  return Object.entries(schema.properties ?? {}).flatMap(([name, s]) => [
    `${path}.${name}`,
    ...fieldPaths(`${path}.${name}`, s),
    ...(s.items ? fieldPaths(`${path}.${name}[]`, s.items) : []),
  ]);
}

describe('hack/gen-crd-docs.ts', function () {
  const committed = readFileSync(referenceFile, 'utf8');

  it('docs/authservice-reference.md is what the CRD and the example generate (run `npx tsx hack/gen-crd-docs.ts` after changing them)', function () {
    expect(committed === generatedReference(), 'docs/authservice-reference.md is stale').to.equal(true);
  });

  it('documents every field of spec and status, each in the table of its parent', function () {
    const root = crdRoot();
    const paths = [...fieldPaths('spec', root.properties?.spec ?? {}), ...fieldPaths('status', root.properties?.status ?? {})];
    expect(paths.length).to.be.greaterThan(100);
    const sections = committed.split(/\n(?=#+ )/);
    for (const path of paths) {
      const parent = path.slice(0, path.lastIndexOf('.'));
      const field = path.slice(path.lastIndexOf('.') + 1);
      const section = sections.find((s) => s.startsWith(`${'#'.repeat(s.indexOf(' '))} ${parent}\n`));
      expect(section, `a section for ${parent}`).to.not.equal(undefined);
      expect(section, path).to.include(`| \`${field}\` |`);
    }
  });

  it('lists the rules on the whole object (metadata.name among them) with their messages, before the example', function () {
    const rules = crdRoot()['x-kubernetes-validations'] ?? [];
    expect(rules.map((r) => r.rule).join(' ')).to.include('self.metadata.name');
    const section = committed.slice(committed.indexOf('\n## Rules on the whole object\n'), committed.indexOf('\n## Example\n'));
    expect(section, 'a "Rules on the whole object" section before "Example"').to.match(/^\n## Rules on the whole object\n/);
    for (const { rule, message } of rules) {
      expect(section).to.include(`- ${message}`).and.include(`Rule: \`${rule.replace(/\s+/g, ' ').trim()}\``);
    }
  });

  it('gives type, default and the rule behind a field', function () {
    expect(committed).to.include('| `retentionDays` | integer (int32) | `30` | Backups older than this many days are deleted after each run. From 1 to 3650. |');
    expect(committed).to.include("Rule: spec.image must pin a version tag or a digest: ':latest' never produces a new revision, so it would never roll out.");
  });
});
