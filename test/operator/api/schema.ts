// Reads crds/authservice.yaml and answers questions about its schema the way
// the API server would: which paths exist, which are optional, and what the
// structural defaulting algorithm produces for a given object.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const CRD_FILE = fileURLToPath(new URL('../../../crds/authservice.yaml', import.meta.url));

export interface CelRule {
  rule: string;
  message?: string;
  fieldPath?: string;
  reason?: string;
}

/** The subset of JSONSchemaProps the CRD uses. */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  maxProperties?: number;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  priority?: number;
  description?: string;
}

export interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object; scale?: object };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

export function loadCrd(): Crd {
  return parse(readFileSync(CRD_FILE, 'utf8')) as Crd;
}

export function rootSchema(crd: Crd = loadCrd()): Schema {
  const version = crd.spec.versions[0];
  if (!version) throw new Error('the CRD has no version');
  return version.schema.openAPIV3Schema;
}

/** The schema node at a dotted path below the root, e.g. "spec.database.pool". */
export function schemaAt(path: string, root: Schema = rootSchema()): Schema {
  let node = root;
  if (path === '') return node;
  for (const part of path.split('.')) {
    const next = node.properties?.[part];
    if (!next) throw new Error(`no schema at ${path} (stopped at ${part})`);
    node = next;
  }
  return node;
}

/** What one path holds, in terms both the schema and the TypeScript types can say. */
export interface Shape {
  optional: boolean;
  kind: 'string' | 'number' | 'boolean' | 'object' | 'array' | 'map' | 'open';
  enum?: string[];
}

/**
 * Every path below `node`: "a.b" for properties, "a[]" for array items and
 * "a.*" for map values. A field is optional unless it is required or defaulted
 * (the API server fills defaults in, so a stored object always has them).
 */
export function schemaShapes(node: Schema, prefix: string, out = new Map<string, Shape>()): Map<string, Shape> {
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const path = `${prefix}.${name}`;
    const optional = !(node.required?.includes(name) || child.default !== undefined);
    describeSchema(child, path, optional, out);
  }
  return out;
}

function describeSchema(node: Schema, path: string, optional: boolean, out: Map<string, Shape>): void {
  if (node['x-kubernetes-preserve-unknown-fields'] && !node.properties) {
    out.set(path, { optional, kind: 'open' });
    return;
  }
  switch (node.type) {
    case 'object':
      if (node.properties) {
        out.set(path, { optional, kind: 'object' });
        schemaShapes(node, path, out);
      } else if (typeof node.additionalProperties === 'object') {
        out.set(path, { optional, kind: 'map' });
        describeSchema(node.additionalProperties, `${path}.*`, false, out);
      } else {
        throw new Error(`${path}: an object with neither properties nor additionalProperties`);
      }
      return;
    case 'array':
      if (!node.items) throw new Error(`${path}: an array without items`);
      out.set(path, { optional, kind: 'array' });
      describeSchema(node.items, `${path}[]`, false, out);
      return;
    case 'integer':
    case 'number':
      out.set(path, { optional, kind: 'number' });
      return;
    case 'string':
      out.set(path, node.enum ? { optional, kind: 'string', enum: (node.enum as string[]).slice().sort() } : { optional, kind: 'string' });
      return;
    case 'boolean':
      out.set(path, { optional, kind: 'boolean' });
      return;
    default:
      throw new Error(`${path}: no type`);
  }
}

/** Every node of the schema with its path, depth first. */
export function* walkSchema(node: Schema, path = ''): Generator<[string, Schema]> {
  yield [path, node];
  for (const [name, child] of Object.entries(node.properties ?? {})) yield* walkSchema(child, path ? `${path}.${name}` : name);
  if (node.items) yield* walkSchema(node.items, `${path}[]`);
  if (typeof node.additionalProperties === 'object') yield* walkSchema(node.additionalProperties, `${path}.*`);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Structural defaulting as kube-apiserver does it
 * (apiextensions-apiserver/pkg/apiserver/schema/defaulting): top-down, an absent
 * property with a default gets a copy of it, then defaulting continues inside
 * whatever is now there, array items and map values included.
 */
export function applySchemaDefaults(node: Schema, value: unknown): unknown {
  if (Array.isArray(value)) return node.items ? value.map((item) => applySchemaDefaults(node.items as Schema, item)) : value;
  if (!isObject(value)) return value;
  const result: Record<string, unknown> = { ...value };
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    if (result[name] === undefined && child.default !== undefined) result[name] = structuredClone(child.default);
    if (result[name] !== undefined) result[name] = applySchemaDefaults(child, result[name]);
  }
  if (typeof node.additionalProperties === 'object' && !node.properties) {
    for (const [key, v] of Object.entries(result)) result[key] = applySchemaDefaults(node.additionalProperties, v);
  }
  return result;
}

/** A value that satisfies the node's type, for building minimal objects. */
export function placeholder(node: Schema): unknown {
  if (node.default !== undefined) return structuredClone(node.default);
  if (node.enum) return node.enum[0];
  switch (node.type) {
    case 'string':
      return 'x';
    case 'integer':
    case 'number':
      return node.minimum ?? 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    default:
      return minimalObject(node);
  }
}

/** An object with only its required properties, each minimal in turn. */
export function minimalObject(node: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of node.required ?? []) {
    const child = node.properties?.[name];
    if (child) out[name] = child.type === 'object' ? minimalObject(child) : placeholder(child);
  }
  return out;
}

/**
 * OpenAPI value validation as the API server applies it before CEL: type,
 * enum, pattern, bounds, required, and unknown fields (which it would prune).
 * Returns one message per problem, each starting with its path.
 */
export function validateValue(node: Schema, value: unknown, path: string): string[] {
  const errors: string[] = [];
  if (node['x-kubernetes-preserve-unknown-fields'] && !node.properties) return errors;
  switch (node.type) {
    case 'object': {
      if (!isObject(value)) return [`${path}: must be an object`];
      if (node.maxProperties !== undefined && Object.keys(value).length > node.maxProperties) errors.push(`${path}: more than ${node.maxProperties} properties`);
      for (const name of node.required ?? []) if (value[name] === undefined) errors.push(`${path}.${name}: required`);
      for (const [name, v] of Object.entries(value)) {
        const child = node.properties?.[name] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
        if (!child) errors.push(`${path}.${name}: unknown field`);
        else errors.push(...validateValue(child, v, `${path}.${name}`));
      }
      return errors;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path}: must be an array`];
      if (node.maxItems !== undefined && value.length > node.maxItems) errors.push(`${path}: more than ${node.maxItems} items`);
      value.forEach((item, i) => errors.push(...validateValue(node.items as Schema, item, `${path}[${i}]`)));
      return errors;
    case 'string':
      if (typeof value !== 'string') return [`${path}: must be a string`];
      if (node.maxLength !== undefined && value.length > node.maxLength) errors.push(`${path}: longer than ${node.maxLength}`);
      if (node.minLength !== undefined && value.length < node.minLength) errors.push(`${path}: shorter than ${node.minLength}`);
      if (node.pattern !== undefined && !new RegExp(node.pattern).test(value)) errors.push(`${path}: ${JSON.stringify(value)} does not match ${node.pattern}`);
      break;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || (node.type === 'integer' && !Number.isInteger(value))) return [`${path}: must be an ${node.type}`];
      if (node.minimum !== undefined && value < node.minimum) errors.push(`${path}: below ${node.minimum}`);
      if (node.maximum !== undefined && value > node.maximum) errors.push(`${path}: above ${node.maximum}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return [`${path}: must be a boolean`];
      break;
  }
  if (node.enum && !node.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(node.enum)}`);
  return errors;
}
