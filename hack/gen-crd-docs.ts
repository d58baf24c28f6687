// docs/authservice-reference.md from crds/authservice.yaml (the schema's one
// source of truth) and examples/authservice.yaml. Run after changing either:
//   npx tsx hack/gen-crd-docs.ts          rewrites the file
//   npx tsx hack/gen-crd-docs.ts --check  exits 1 when the file is stale
// test/hack/gen-crd-docs.test.ts fails while the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

interface Schema {
  type?: string;
  format?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  minLength?: number;
  maxItems?: number;
  pattern?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string; fieldPath?: string }[];
}

interface PrinterColumn {
  name: string;
  type: string;
  description?: string;
  jsonPath: string;
  priority?: number;
}

interface Crd {
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: { name: string; additionalPrinterColumns?: PrinterColumn[]; schema: { openAPIV3Schema: Schema } }[];
  };
}

/** Patterns too long to read, by what they accept. */
const knownPatterns: Record<string, string> = {
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$': 'a DNS subdomain name (a Kubernetes object name)',
  '^(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$': 'a Kubernetes quantity (e.g. `100m`, `64Mi`)',
  '^[-._a-zA-Z0-9]+$': 'a Secret key (letters, digits, `-`, `_`, `.`)',
};

/** What a field with no description of its own means, by its parent and name. */
function describePattern(pattern: string): string {
  const known = knownPatterns[pattern];
  if (known) return `Must be ${known}.`;
  // The image reference grammar (distribution/reference), a screenful of regex.
  if (pattern.includes('@sha256:[a-f0-9]{64}') && pattern.length > 200) return 'Must be an image reference with a tag or a digest.';
  return `Pattern ${code(pattern)}.`;
}

const sentence = (text: string) => (/[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function fallbackDescription(parent: string, name: string): string | undefined {
  if (/SecretRef$/.test(parent) && name === 'name') return 'Name of the Secret, in the AuthService\'s namespace.';
  if (/SecretRef$/.test(parent) && name === 'key') return 'Key in that Secret.';
  return undefined;
}

const cell = (text: string) => text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
const code = (text: string) => `\`${text}\``;

function typeOf(s: Schema): string {
  if (s['x-kubernetes-preserve-unknown-fields']) return 'object (free-form)';
  if (s.type === 'array') return `array of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map of string to ${typeOf(s.additionalProperties)}`;
  return [s.type ?? 'any', s.format ? `(${s.format})` : ''].filter(Boolean).join(' ');
}

function defaultOf(s: Schema): string {
  if (s.default === undefined) return '';
  if (typeof s.default === 'object' && s.default !== null && Object.keys(s.default).length === 0) return 'the defaults below';
  return code(JSON.stringify(s.default).replace(/^"|"$/g, ''));
}

function constraintsOf(s: Schema, required: boolean): string[] {
  const out: string[] = [];
  if (required) out.push('**Required.**');
  if (s.enum) out.push(`One of ${s.enum.map((v) => code(String(v))).join(', ')}.`);
  if (s.minimum !== undefined && s.maximum !== undefined) out.push(`From ${s.minimum} to ${s.maximum}.`);
  else if (s.minimum !== undefined) out.push(`At least ${s.minimum}.`);
  else if (s.maximum !== undefined) out.push(`At most ${s.maximum}.`);
  if (s.pattern) out.push(describePattern(s.pattern));
  if (s.minLength !== undefined) out.push(`At least ${plural(s.minLength, 'character')}.`);
  if (s.maxLength !== undefined) out.push(`At most ${plural(s.maxLength, 'character')}.`);
  if (s.maxItems !== undefined) out.push(`At most ${plural(s.maxItems, 'item')}.`);
  for (const v of s['x-kubernetes-validations'] ?? []) out.push(`Rule: ${sentence(v.message ?? code(v.rule))}`);
  return out;
}

/** Fields of an object schema with nested objects below it, one table per object. */
function sections(path: string, schema: Schema, level: number): string[] {
  const props = schema.properties ?? {};
  const parentName = path.split('.').at(-1) ?? '';
  const rows = Object.entries(props).map(([name, s]) => {
    const nested = s.type === 'object' && s.properties ? ` (see [${path}.${name}](#${anchor(`${path}.${name}`)}))` : '';
    const own = s.description ?? fallbackDescription(parentName, name);
    const description = [own ? sentence(own) : '', ...constraintsOf(s, schema.required?.includes(name) ?? false)]
      .filter(Boolean)
      .join(' ');
    return `| ${code(name)} | ${typeOf(s)} | ${defaultOf(s)} | ${cell(description)}${nested} |`;
  });
  const heading = `${'#'.repeat(level)} ${path}`;
  const intro = [schema.description ? cell(sentence(schema.description)) : '', ...constraintsOf({ ...schema, description: undefined, required: undefined }, false)].filter(Boolean).join(' ');
  const table = ['| Field | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows].join('\n');
  const children = Object.entries(props).flatMap(([name, s]) => {
    if (s.type === 'object' && s.properties) return sections(`${path}.${name}`, s, level + 1);
    if (s.type === 'array' && s.items?.properties) return sections(`${path}.${name}[]`, s.items, level + 1);
    return [];
  });
  return [[heading, intro, table].filter(Boolean).join('\n\n'), ...children];
}

/**
 * The rules on the whole object (the schema root's x-kubernetes-validations, such
 * as the one on metadata.name): no field's table holds them, so they get their own
 * section, each with its message and its CEL expression.
 */
function rootRules(kind: string, root: Schema): string[] {
  const rules = root['x-kubernetes-validations'] ?? [];
  if (rules.length === 0) return [];
  // A list, not a table: no `|` to escape, so the expression reads as written.
  const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
  const items = rules.map((v) => `- ${v.message ? `${oneLine(sentence(v.message))} ` : ''}Rule: ${code(oneLine(v.rule))}`);
  return ['## Rules on the whole object', `The API server refuses an ${kind} that breaks one of these, with the message given:\n\n${items.join('\n')}`];
}

/** GitHub's heading anchors: lower case, punctuation dropped. */
const anchor = (heading: string) => heading.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');

export function renderCrdReference(crdText: string, exampleText: string): string {
  const crd = parse(crdText) as Crd;
  const { names, group, scope } = crd.spec;
  const version = crd.spec.versions[0];
  if (!version) throw new Error('the CRD has no version');
  const root = version.schema.openAPIV3Schema;
  const spec = root.properties?.spec;
  const status = root.properties?.status;
  if (!spec || !status) throw new Error('the CRD schema has no spec or status');
  const columns = (version.additionalPrinterColumns ?? []).map(
    (c) => `| ${c.name} | ${code(c.jsonPath)} | ${c.priority ? '`-o wide` only' : 'always'} | ${cell(c.description ?? '')} |`,
  );
  return `${[
    `# ${names.kind} reference`,
    '<!-- Generated by hack/gen-crd-docs.ts from crds/authservice.yaml and examples/authservice.yaml; edit those, then run `npx tsx hack/gen-crd-docs.ts`. -->',
    `\`apiVersion: ${group}/${version.name}\`, \`kind: ${names.kind}\`: ${scope.toLowerCase()}, plural \`${names.plural}\`, short name${(names.shortNames ?? []).length === 1 ? '' : 's'} ${(names.shortNames ?? []).map(code).join(', ')}, in the categories ${(names.categories ?? []).map(code).join(', ')} (so \`kubectl get all\` lists it). The schema below is what the API server enforces: a default is filled in when the field is absent, and a spec that breaks a rule is refused with the rule's message.`,
    cell(root.description ?? ''),
    ...rootRules(names.kind, root),
    '## Example',
    `\`examples/authservice.yaml\` (its Secrets: \`examples/secrets.yaml\`):\n\n\`\`\`yaml\n${exampleText.trimEnd()}\n\`\`\``,
    '## `kubectl get authservices` columns',
    ['| Column | From | Shown | Meaning |', '| --- | --- | --- | --- |', ...columns].join('\n'),
    ...sections('spec', spec, 2),
    ...sections('status', status, 2),
  ].join('\n\n')}\n`;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const referenceFile = join(repoRoot, 'docs', 'authservice-reference.md');

export function generatedReference(): string {
  return renderCrdReference(readFileSync(join(repoRoot, 'crds', 'authservice.yaml'), 'utf8'), readFileSync(join(repoRoot, 'examples', 'authservice.yaml'), 'utf8'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const text = generatedReference();
  if (process.argv.includes('--check')) {
    const current = readFileSync(referenceFile, 'utf8');
    if (current !== text) {
      process.stderr.write('docs/authservice-reference.md is stale: run npx tsx hack/gen-crd-docs.ts\n');
      process.exitCode = 1;
    }
  } else {
    writeFileSync(referenceFile, text);
    process.stdout.write(`wrote ${referenceFile}\n`);
  }
}
