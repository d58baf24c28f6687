// operator/api/types.ts must say exactly what crds/authservice.yaml says. The
// TypeScript checker reads the interfaces; every path, optional marker, scalar
// type and enum is compared with the schema, in both directions.
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { rootSchema, schemaAt, schemaShapes, type Shape } from './schema.js';

const TYPES_FILE = fileURLToPath(new URL('../../../operator/api/types.ts', import.meta.url));

function typeShapes(checker: ts.TypeChecker, type: ts.Type, prefix: string, out = new Map<string, Shape>()): Map<string, Shape> {
  for (const prop of checker.getPropertiesOfType(type)) {
    const declaration = prop.valueDeclaration ?? prop.declarations?.[0];
    if (!declaration) throw new Error(`${prefix}.${prop.name}: no declaration`);
    const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
    const propType = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(prop, declaration));
    describeType(checker, propType, `${prefix}.${prop.name}`, optional, out);
  }
  return out;
}

function describeType(checker: ts.TypeChecker, type: ts.Type, path: string, optional: boolean, out: Map<string, Shape>): void {
  const name = checker.typeToString(type);
  if (type.flags & ts.TypeFlags.String) return void out.set(path, { optional, kind: 'string' });
  if (type.flags & ts.TypeFlags.Number) return void out.set(path, { optional, kind: 'number' });
  if (type.flags & ts.TypeFlags.BooleanLike) return void out.set(path, { optional, kind: 'boolean' });
  if (type.isUnion() && type.types.every((t) => t.isStringLiteral())) {
    const values = type.types.map((t) => (t as ts.StringLiteralType).value).sort();
    return void out.set(path, { optional, kind: 'string', enum: values });
  }
  if (checker.isArrayType(type)) {
    out.set(path, { optional, kind: 'array' });
    const [element] = checker.getTypeArguments(type as ts.TypeReference);
    if (!element) throw new Error(`${path}: array without an element type`);
    return describeType(checker, element, `${path}[]`, false, out);
  }
  if (type.flags & ts.TypeFlags.Object) {
    const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
    if (index && checker.getPropertiesOfType(type).length === 0) {
      if (index.type.flags & ts.TypeFlags.Unknown) return void out.set(path, { optional, kind: 'open' });
      out.set(path, { optional, kind: 'map' });
      return describeType(checker, index.type, `${path}.*`, false, out);
    }
    out.set(path, { optional, kind: 'object' });
    typeShapes(checker, type, path, out);
    return;
  }
  throw new Error(`${path}: a type the schema cannot express: ${name}`);
}

function sorted(shapes: Map<string, Shape>): Array<[string, Shape]> {
  return [...shapes.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** What differs, path by path, so a failure names the drifted fields. */
function drift(fromTypes: Map<string, Shape>, fromSchema: Map<string, Shape>) {
  const show = (s: Shape) => `${s.kind}${s.enum ? `(${s.enum.join('|')})` : ''}${s.optional ? ' optional' : ' required'}`;
  const paths = [...new Set([...fromTypes.keys(), ...fromSchema.keys()])].sort();
  return {
    onlyInSchema: paths.filter((p) => !fromTypes.has(p)),
    onlyInTypes: paths.filter((p) => !fromSchema.has(p)),
    differing: paths
      .filter((p) => fromTypes.has(p) && fromSchema.has(p))
      .map((p) => [p, show(fromTypes.get(p) as Shape), show(fromSchema.get(p) as Shape)])
      .filter(([, t, s]) => t !== s)
      .map(([p, t, s]) => `${p}: types say ${t}, schema says ${s}`),
  };
}

const NO_DRIFT = { onlyInSchema: [], onlyInTypes: [], differing: [] };

describe('operator/api/types.ts against crds/authservice.yaml', function () {
  // Building a TypeScript program that loads @kubernetes/client-node's declarations takes a few seconds.
  this.timeout(60_000);

  let checker: ts.TypeChecker;
  let exports: Map<string, ts.Symbol>;

  before(function () {
    const program = ts.createProgram([TYPES_FILE], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: [],
    });
    checker = program.getTypeChecker();
    const source = program.getSourceFile(TYPES_FILE);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`cannot load ${TYPES_FILE}`);
    exports = new Map(checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));
  });

  function shapesOf(interfaceName: string, prefix: string): Map<string, Shape> {
    const symbol = exports.get(interfaceName);
    if (!symbol) throw new Error(`types.ts does not export ${interfaceName}`);
    return typeShapes(checker, checker.getDeclaredTypeOfSymbol(symbol), prefix);
  }

  it('has the same spec fields, optionality, scalar types and enums as the schema', function () {
    const fromSchema = schemaShapes(schemaAt('spec'), 'spec');
    expect(drift(shapesOf('AuthServiceSpec', 'spec'), fromSchema)).to.deep.equal(NO_DRIFT);
    expect(sorted(shapesOf('AuthServiceSpec', 'spec'))).to.deep.equal(sorted(fromSchema));
    // A sanity floor, so an empty walk on both sides cannot pass.
    expect(fromSchema.size).to.be.greaterThan(100);
  });

  it('has the same status fields, optionality, scalar types and enums as the schema', function () {
    const fromSchema = schemaShapes(schemaAt('status'), 'status');
    expect(drift(shapesOf('AuthServiceStatus', 'status'), fromSchema)).to.deep.equal(NO_DRIFT);
    expect(sorted(shapesOf('AuthServiceStatus', 'status'))).to.deep.equal(sorted(fromSchema));
    expect([...fromSchema.keys()]).to.include.members([
      'status.observedGeneration',
      'status.phase',
      'status.activeColor',
      'status.activeRevision',
      'status.activeImage',
      'status.previewColor',
      'status.previewRevision',
      'status.replicas',
      'status.readyReplicas',
      'status.readyText',
      'status.conditions',
      'status.conditions[].lastTransitionTime',
      'status.rollout',
    ]);
  });

  it('requires spec and leaves status to the operator on the resource itself', function () {
    const resource = checker.getDeclaredTypeOfSymbol(exports.get('AuthService') as ts.Symbol);
    const optional = (name: string) => {
      const prop = checker.getPropertyOfType(resource, name);
      if (!prop) throw new Error(`AuthService has no ${name}`);
      return (prop.flags & ts.SymbolFlags.Optional) !== 0;
    };
    expect(optional('spec')).to.equal(false);
    expect(optional('status')).to.equal(true);
    expect(rootSchema().properties).to.have.keys('apiVersion', 'kind', 'metadata', 'spec', 'status');
  });
});
