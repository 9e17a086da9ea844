import {
  Node,
  Project,
  ts,
  SyntaxKind,
  type CallExpression,
  type JSDocableNode,
  type ObjectLiteralExpression,
  type SourceFile,
  type Symbol as TsSymbol,
  type Type,
} from 'ts-morph';

/**
 * TypeScript params types → JSON Schema, with ts-morph. The params type of a step is the `P` of
 * its `paramsOf<P>()`; descriptions come from JSDoc text and bounds/defaults from JSDoc tags
 * (`@default`, `@minimum`, `@maximum`, `@exclusiveMinimum`, `@exclusiveMaximum`, `@integer`,
 * `@minItems`, `@maxItems`, `@pattern`). One converter serves built-in steps (`npm run schema`)
 * and, later, user plugins, so both get the same located errors.
 */

export type JsonSchema = { [key: string]: unknown };

export interface ExtractedStep {
  kind: string;
  description: string;
  /** Source file the step was read from, relative to the project root. */
  file: string;
  inputs: Record<string, string>;
  output: string;
  params: JsonSchema;
  /**
   * The rest of what a plugin step is known by without running its code (`fxflow validate`, `plan`
   * and `steps` never import a plugin): `version` and `seeded` when written as literals…
   */
  version?: number;
  seeded?: boolean;
  optionalInputs: string[];
  /** …the names of every property of the `defineStep({…})` object (functions included)… */
  members: string[];
  /** …the properties that had to be literals to be read but are not (a spread counts as `...`)… */
  unreadable: string[];
  /** …whether the file exports it (only exported steps are loaded), and where its `kind` is. */
  exported: boolean;
  at: { line: number; col: number };
}

export interface SchemaIssue {
  file: string;
  line: number;
  col: number;
  message: string;
}

export class TypeToSchema {
  readonly issues: SchemaIssue[] = [];
  private readonly stack = new Set<Type>();

  convertType(type: Type, at: Node, doc: JsDocInfo = {}): JsonSchema {
    const schema = this.convertBare(type, at);
    return applyDoc(schema, doc);
  }

  private issue(at: Node, message: string): void {
    const sf = at.getSourceFile();
    const { line, column } = sf.getLineAndColumnAtPos(at.getStart());
    this.issues.push({ file: sf.getFilePath(), line, col: column, message });
  }

  private convertBare(type: Type, at: Node): JsonSchema {
    if (type.isString()) return { type: 'string' };
    if (type.isNumber()) return { type: 'number' };
    if (type.isBoolean()) return { type: 'boolean' };
    if (type.isStringLiteral() || type.isNumberLiteral()) return { const: type.getLiteralValue() };
    if (type.isBooleanLiteral()) return { const: type.getText() === 'true' };
    if (type.isNull()) return { type: 'null' };
    if (type.isUnknown() || type.isAny()) return {};
    if (type.isArray()) {
      const el = type.getArrayElementTypeOrThrow();
      return { type: 'array', items: this.convertType(el, at) };
    }
    if (type.isTuple()) {
      const items = type.getTupleElements().map((t) => this.convertType(t, at));
      return { type: 'array', prefixItems: items, minItems: items.length, maxItems: items.length };
    }
    if (type.isUnion()) {
      const members = type.getUnionTypes().filter((t) => !t.isUndefined());
      // `boolean` is the union true | false; a literal union is an enum.
      if (members.length > 0 && members.every((t) => t.isBooleanLiteral())) return { type: 'boolean' };
      if (members.every((t) => t.isStringLiteral() || t.isNumberLiteral())) {
        return { enum: members.map((t) => t.getLiteralValue()) };
      }
      if (members.length === 1) return this.convertType(members[0], at);
      const tagged = this.taggedUnion(members, at) ?? this.discriminatedUnion(members, at);
      if (tagged) return tagged;
      return { anyOf: members.map((t) => this.convertType(t, at)) };
    }
    if (type.isObject()) {
      if (this.stack.has(type)) {
        this.issue(at, `recursive type ${type.getText()} cannot become a JSON Schema`);
        return {};
      }
      this.stack.add(type);
      try {
        return this.convertObject(type, at);
      } finally {
        this.stack.delete(type);
      }
    }
    this.issue(at, `unsupported type in step params: ${type.getText()}`);
    return {};
  }

  /**
   * A union of single-key object types (`{ rsi: RsiParams } | { ema: EmaParams }`) becomes one
   * object whose keys are all the tags, with exactly one present. Unlike `anyOf`, this lets the
   * validator fill defaults inside the chosen entry and name an unknown tag directly.
   */
  private taggedUnion(members: Type[], at: Node): JsonSchema | undefined {
    if (!members.every((t) => t.isObject() && !t.isArray() && t.getProperties().length === 1 && !t.getStringIndexType())) return undefined;
    const properties: Record<string, JsonSchema> = {};
    for (const t of members) {
      const prop = t.getProperties()[0];
      if (prop.isOptional() || prop.getName() in properties) return undefined;
      const decl = prop.getValueDeclaration() ?? prop.getDeclarations()[0];
      properties[prop.getName()] = this.convertType(decl ? prop.getTypeAtLocation(decl) : prop.getDeclaredType(), decl ?? at, decl ? readJsDoc(decl) : {});
    }
    return { type: 'object', properties, additionalProperties: false, minProperties: 1, maxProperties: 1 };
  }

  /**
   * A union of object types that share one property holding a different string literal in each
   * (`{ model: 'ridge'; alpha: number } | { model: 'gbm'; … }`) becomes a `oneOf` with an OpenAPI
   * `discriminator`: ajv then validates only the branch the value names, fills that branch's
   * defaults, and reports its errors alone. The discriminator's description and `@default` are
   * read from the branch(es) whose property carries them.
   */
  private discriminatedUnion(members: Type[], at: Node): JsonSchema | undefined {
    if (members.length < 2 || !members.every((t) => t.isObject() && !t.isArray() && !t.getStringIndexType())) return undefined;
    const literalOf = (t: Type, name: string): { value: string; doc: JsDocInfo } | undefined => {
      const prop = t.getProperty(name);
      if (!prop || prop.isOptional()) return undefined;
      const decl = prop.getValueDeclaration() ?? prop.getDeclarations()[0];
      const pt = decl ? prop.getTypeAtLocation(decl) : prop.getDeclaredType();
      return pt.isStringLiteral() ? { value: String(pt.getLiteralValue()), doc: decl ? readJsDoc(decl) : {} } : undefined;
    };
    const tag = members[0]
      .getProperties()
      .map((p) => p.getName())
      .find((name) => {
        const values = members.map((t) => literalOf(t, name)?.value);
        return values.every((v) => v !== undefined) && new Set(values).size === values.length;
      });
    if (!tag) return undefined;
    const tags = members.map((t) => literalOf(t, tag)!);
    const tagSchema: JsonSchema = { enum: tags.map((x) => x.value) };
    const description = tags.find((x) => x.doc.description)?.doc.description;
    const def = tags.find((x) => x.doc.default !== undefined)?.doc.default;
    if (description) tagSchema.description = description;
    if (def !== undefined) tagSchema.default = def;
    const oneOf = members.map((t, i) => {
      const branch = this.convertObject(t, at);
      // The branch's own tag is just its value: the description, default and `required` live on the union.
      (branch.properties as Record<string, JsonSchema>)[tag] = { const: tags[i].value };
      const required = ((branch.required as string[] | undefined) ?? []).filter((r) => r !== tag);
      if (required.length) branch.required = required;
      else delete branch.required;
      const decl = t.getSymbol()?.getDeclarations()[0];
      const description = decl ? readJsDoc(decl).description : undefined;
      return description ? { description, ...branch } : branch;
    });
    return { type: 'object', properties: { [tag]: tagSchema }, required: [tag], discriminator: { propertyName: tag }, oneOf };
  }

  private convertObject(type: Type, at: Node): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const prop of type.getProperties()) {
      const decl = prop.getValueDeclaration() ?? prop.getDeclarations()[0];
      const propType = decl ? prop.getTypeAtLocation(decl) : prop.getDeclaredType();
      const doc = decl ? readJsDoc(decl) : {};
      properties[prop.getName()] = this.convertType(propType, decl ?? at, doc);
      if (!isOptional(prop) && doc.default === undefined) required.push(prop.getName());
    }
    const schema: JsonSchema = { type: 'object', properties };
    if (required.length) schema.required = required;
    const index = type.getStringIndexType();
    schema.additionalProperties = index ? this.convertType(index, at) : false;
    return schema;
  }
}

function isOptional(prop: TsSymbol): boolean {
  return prop.isOptional();
}

export interface JsDocInfo {
  description?: string;
  default?: unknown;
  tags?: Record<string, string>;
}

const NUMERIC_TAGS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems', 'minLength', 'maxLength'];

export function readJsDoc(node: Node): JsDocInfo {
  if (!Node.isJSDocable(node)) return {};
  const docs = (node as unknown as JSDocableNode).getJsDocs();
  if (docs.length === 0) return {};
  const last = docs[docs.length - 1];
  const description =
    last
      .getDescription()
      .trim()
      .replace(/\s*\n\s*/g, ' ') || undefined;
  const tags: Record<string, string> = {};
  let def: unknown;
  for (const tag of last.getTags()) {
    const name = tag.getTagName();
    const text = (tag.getCommentText() ?? '').trim();
    if (name === 'default') {
      try {
        def = JSON.parse(text);
      } catch {
        def = text; // a bare word default, e.g. @default close
      }
    } else {
      tags[name] = text;
    }
  }
  return { description, default: def, tags };
}

function applyDoc(schema: JsonSchema, doc: JsDocInfo): JsonSchema {
  const out: JsonSchema = {};
  if (doc.description) out.description = doc.description;
  Object.assign(out, schema);
  if (doc.default !== undefined) out.default = doc.default;
  const tags = doc.tags ?? {};
  // In a union (`'auto' | number`), numeric tags belong to its number branch, not the union.
  if (Array.isArray(out.anyOf)) {
    out.anyOf = (out.anyOf as JsonSchema[]).map((b) => (b.type === 'number' || b.type === 'integer' || b.type === 'array' ? applyDoc(b, { tags }) : b));
    return out;
  }
  if ('integer' in tags && out.type === 'number') out.type = 'integer';
  if ('integer' in tags && out.type === 'array' && isObj(out.items) && out.items.type === 'number') {
    out.items = { ...out.items, type: 'integer' };
  }
  for (const t of NUMERIC_TAGS) {
    if (t in tags) {
      const n = Number(tags[t]);
      // Bounds on an array of numbers constrain its items, except the item-count tags.
      if (out.type === 'array' && !t.endsWith('Items') && isObj(out.items)) out.items = { ...out.items, [t]: n };
      else out[t] = n;
    }
  }
  if ('pattern' in tags) out.pattern = tags.pattern;
  if ('examples' in tags) {
    try {
      out.examples = JSON.parse(tags.examples);
    } catch {
      out.examples = [tags.examples];
    }
  }
  return out;
}

function isObj(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Finds `defineStep({...})` calls in a file and extracts their metadata and params schema. */
export function extractSteps(sf: SourceFile, conv: TypeToSchema, root: string): ExtractedStep[] {
  const out: ExtractedStep[] = [];
  const exported = exportedExpressions(sf);
  for (const call of sf.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    if (call.getExpression().getText() !== 'defineStep') continue;
    const arg = call.getArguments()[0];
    if (!arg || !Node.isObjectLiteralExpression(arg)) continue;
    const kind = stringProp(arg, 'kind');
    if (!kind) {
      conv.issues.push(issueAt(call, 'defineStep needs a string literal `kind`'));
      continue;
    }
    const paramsCall = findParamsOf(arg);
    let params: JsonSchema = { type: 'object', properties: {}, additionalProperties: false };
    if (!paramsCall) {
      conv.issues.push(issueAt(call, `step \`${kind}\`: declare its params with \`params: paramsOf<MyParams>()\``));
    } else {
      const typeArg = paramsCall.getTypeArguments()[0];
      if (typeArg) params = conv.convertType(typeArg.getType(), typeArg);
    }
    const unreadable: string[] = [];
    const members: string[] = [];
    for (const p of arg.getProperties()) {
      if (Node.isSpreadAssignment(p)) unreadable.push('...');
      else members.push(p.getName());
    }
    const version = propInit(arg, 'version');
    const seeded = propInit(arg, 'seeded');
    const output = stringProp(arg, 'output');
    const inputs = propInit(arg, 'inputs');
    const optional = propInit(arg, 'optionalInputs');
    if (!version || !Node.isNumericLiteral(version)) unreadable.push('version');
    if (members.includes('seeded') && !(seeded && (seeded.getKind() === SyntaxKind.TrueKeyword || seeded.getKind() === SyntaxKind.FalseKeyword)))
      unreadable.push('seeded');
    if (output === undefined) unreadable.push('output');
    if (!inputs || !Node.isObjectLiteralExpression(inputs) || !allStringValued(inputs)) unreadable.push('inputs');
    if (members.includes('optionalInputs') && !(optional && Node.isArrayLiteralExpression(optional) && optional.getElements().every(isStringLiteral)))
      unreadable.push('optionalInputs');
    const at = arg.getSourceFile().getLineAndColumnAtPos((arg.getProperty('kind') ?? call).getStart());
    out.push({
      kind,
      description: stringProp(arg, 'description') ?? '',
      file: sf.getFilePath().replace(root.endsWith('/') ? root : `${root}/`, ''),
      inputs: objectOfStrings(arg, 'inputs'),
      output: output ?? '',
      params,
      version: version && Node.isNumericLiteral(version) ? version.getLiteralValue() : undefined,
      seeded: seeded ? seeded.getKind() === SyntaxKind.TrueKeyword : undefined,
      optionalInputs:
        optional && Node.isArrayLiteralExpression(optional) ? optional.getElements().flatMap((e) => (isStringLiteral(e) ? [e.getLiteralValue()] : [])) : [],
      members,
      unreadable,
      exported: exported.has(call),
      at: { line: at.line, col: at.column },
    });
  }
  return out;
}

function isStringLiteral(n: Node): n is Node & { getLiteralValue(): string } {
  return Node.isStringLiteral(n) || Node.isNoSubstitutionTemplateLiteral(n);
}

function allStringValued(obj: ObjectLiteralExpression): boolean {
  return obj.getProperties().every((p) => Node.isPropertyAssignment(p) && isStringLiteral(p.getInitializerOrThrow()));
}

/** The expressions a file exports (`export default defineStep(…)`, `export const s = defineStep(…)`, re-exported names). */
function exportedExpressions(sf: SourceFile): Set<Node> {
  const out = new Set<Node>();
  for (const decls of sf.getExportedDeclarations().values()) {
    for (const d of decls) {
      let e: Node | undefined = Node.isVariableDeclaration(d) ? d.getInitializer() : d;
      while (e && (Node.isParenthesizedExpression(e) || Node.isAsExpression(e) || Node.isSatisfiesExpression(e))) e = e.getExpression();
      if (e) out.add(e);
    }
  }
  return out;
}

function issueAt(node: Node, message: string): SchemaIssue {
  const sf = node.getSourceFile();
  const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
  return { file: sf.getFilePath(), line, col: column, message };
}

function propInit(obj: ObjectLiteralExpression, name: string): Node | undefined {
  const p = obj.getProperty(name);
  return p && Node.isPropertyAssignment(p) ? p.getInitializer() : undefined;
}

function stringProp(obj: ObjectLiteralExpression, name: string): string | undefined {
  const init = propInit(obj, name);
  if (!init) return undefined;
  if (Node.isStringLiteral(init) || Node.isNoSubstitutionTemplateLiteral(init)) return init.getLiteralValue();
  return undefined;
}

function objectOfStrings(obj: ObjectLiteralExpression, name: string): Record<string, string> {
  const init = propInit(obj, name);
  const out: Record<string, string> = {};
  if (!init || !Node.isObjectLiteralExpression(init)) return out;
  for (const p of init.getProperties()) {
    if (!Node.isPropertyAssignment(p)) continue;
    const v = p.getInitializer();
    if (v && isStringLiteral(v)) out[p.getName().replace(/^['"]|['"]$/g, '')] = v.getLiteralValue();
  }
  return out;
}

function findParamsOf(obj: ObjectLiteralExpression): CallExpression | undefined {
  const init = propInit(obj, 'params');
  if (init && Node.isCallExpression(init) && init.getExpression().getText() === 'paramsOf') return init;
  return undefined;
}

/** A ts-morph project from a tsconfig (the built-ins) or from compiler options (plugins). */
export function openProject(tsconfig?: string, compilerOptions?: ts.CompilerOptions): Project {
  if (tsconfig) return new Project({ tsConfigFilePath: tsconfig, skipAddingFilesFromTsConfig: true });
  return new Project({ compilerOptions });
}
