import { createRequire } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

const repositoryRoot = path.resolve(__dirname, '..', '..', '..');

/**
 * The directory of a contrib instrumentation package as the package at `packageDir` installs it
 * (each instrumentation has its contrib counterpart as a devDependency, pinned to the version the
 * bench compares with). Throws, never skips, when it is missing.
 */
export function contribPackageDir(name: string, packageDir: string): { dir: string; version: string } {
  const requireFromPackage = createRequire(path.join(packageDir, 'package.json'));
  const main = requireFromPackage.resolve(name);
  const dir = path.resolve(path.dirname(main), '..');
  const { version } = requireFromPackage(path.join(dir, 'package.json')) as { version: string };
  return { dir, version };
}

/** Parsed library and dependency files, shared by every compile of this test file (they dominate its time). */
const parsed = new Map<string, ts.SourceFile | undefined>();

/**
 * Type errors in `file`, compiled with the repository's compiler options (tsconfig.base.json),
 * after replacing its import of `from` with an import of `to` — nothing else of the file changes.
 * Only `file` itself is checked: the rest of the repository is checked by `pnpm lint`.
 */
export function typeErrors(file: string, imports?: { from: string; to: string }): string[] {
  const configPath = path.join(repositoryRoot, 'tsconfig.base.json');
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, repositoryRoot);
  const compilerOptions: ts.CompilerOptions = {
    ...options,
    noEmit: true,
    composite: false,
    incremental: false,
    declaration: false,
    declarationMap: false,
  };
  const host = ts.createCompilerHost(compilerOptions);
  const target = path.resolve(file);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) => {
    if (path.resolve(name) === target) {
      const text = ts.sys.readFile(target);
      if (text === undefined) throw new Error(`cannot read ${target}`);
      return ts.createSourceFile(name, imports === undefined ? text : replaceImport(text, imports), languageVersion);
    }
    if (!parsed.has(name)) parsed.set(name, getSourceFile(name, languageVersion, ...rest));
    return parsed.get(name);
  };
  const program = ts.createProgram([target], compilerOptions, host);
  const source = program.getSourceFile(target);
  if (source === undefined) throw new Error(`${target} was not compiled`);
  return [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getSyntacticDiagnostics(source),
    ...program.getSemanticDiagnostics(source),
  ].map((diagnostic) => ts.formatDiagnostic(diagnostic, { ...host, getNewLine: () => '\n' }).trim());
}

function replaceImport(text: string, imports: { from: string; to: string }): string {
  const from = `from '${imports.from}';`;
  if (!text.includes(from)) throw new Error(`no import ${from}`);
  return text.replaceAll(from, `from '${imports.to}';`);
}
