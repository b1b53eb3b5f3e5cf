/**
 * Small real projects of each ecosystem the gates detect, in a passing and a failing version
 * (a failing test plus a lint finding), and the toolchains they need on this machine. Test-only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalRunner } from '../../activities/tools/local-runner';
import type { CommandRunner } from '../../activities/tools/runner';

export type ProjectFiles = Record<string, string>;

export function pythonProject(variant: 'passing' | 'failing'): ProjectFiles {
  const broken = variant === 'failing';
  return {
    'pyproject.toml': [
      '[project]',
      'name = "calc"',
      'version = "0.1.0"',
      'requires-python = ">=3.9"',
      '',
      '[project.optional-dependencies]',
      'dev = ["pytest", "ruff", "mypy", "coverage"]',
      '',
      '[tool.pytest.ini_options]',
      'pythonpath = ["src"]',
      '',
      '[tool.mypy]',
      'strict = true',
      'mypy_path = "src"',
      '',
      '[tool.coverage.run]',
      'source = ["src"]',
      'branch = true',
      '',
    ].join('\n'),
    'src/calc/__init__.py': `${broken ? 'import os\n\n\n' : ''}def add(a: int, b: int) -> int:\n    return a + b\n\n\ndef sub(a: int, b: int) -> int:\n    return a - b\n`,
    'tests/test_calc.py': `from calc import add, sub\n\n\ndef test_add() -> None:\n    assert add(2, 2) == ${broken ? 5 : 4}\n\n\ndef test_sub() -> None:\n    assert sub(5, 3) == 2\n`,
    '.gitignore': '__pycache__/\n.coverage\ncoverage.json\n.pytest_cache/\n.mypy_cache/\n.ruff_cache/\n',
  };
}

export function goProject(variant: 'passing' | 'failing'): ProjectFiles {
  const broken = variant === 'failing';
  return {
    'go.mod': 'module example.com/calc\n\ngo 1.19\n', // as old as Debian 12's Go
    'calc.go': [
      'package calc',
      '',
      'func Add(a, b int) int { return a + b }',
      '',
      'func Sub(a, b int) int { return a - b }',
      '',
      // go vet's "assign" check (not among the checks go test runs itself, so the tests still build).
      broken ? 'func Twice(a int) int {\n\ta = a\n\treturn a * 2\n}\n' : '',
    ].join('\n'),
    'calc_test.go': [
      'package calc',
      '',
      'import "testing"',
      '',
      `func TestAdd(t *testing.T) {\n\tif got := Add(2, 2); got != ${broken ? 5 : 4} {\n\t\tt.Fatalf("Add(2, 2) = %d", got)\n\t}\n}`,
      '',
      'func TestSub(t *testing.T) {\n\tif got := Sub(5, 3); got != 2 {\n\t\tt.Fatalf("Sub(5, 3) = %d", got)\n\t}\n}',
      '',
    ].join('\n'),
    '.gitignore': 'coverage.out\n',
  };
}

export function rustProject(variant: 'passing' | 'failing'): ProjectFiles {
  const broken = variant === 'failing';
  return {
    'Cargo.toml': '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n',
    'src/lib.rs': [
      'pub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}',
      '',
      // clippy::ptr_arg (a warning, so an error under -D warnings).
      broken ? 'pub fn count(values: &Vec<i64>) -> usize {\n    values.len()\n}\n' : '',
      '#[cfg(test)]',
      'mod tests {',
      '    use super::*;',
      '',
      '    #[test]',
      `    fn adds() {\n        assert_eq!(add(2, 2), ${broken ? 5 : 4});\n    }`,
      '}',
      '',
    ].join('\n'),
    '.gitignore': '/target\n',
  };
}

export function mavenProject(variant: 'passing' | 'failing'): ProjectFiles {
  return {
    'pom.xml': `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>demo</groupId>
  <artifactId>calc</artifactId>
  <version>1.0</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope></dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin>
      <plugin><artifactId>maven-surefire-plugin</artifactId><version>3.2.5</version></plugin>
    </plugins>
  </build>
</project>
`,
    'src/main/java/demo/Calc.java': 'package demo;\n\npublic class Calc {\n  public static int add(int a, int b) {\n    return a + b;\n  }\n}\n',
    'src/test/java/demo/CalcTest.java': `package demo;\n\nimport static org.junit.Assert.assertEquals;\n\nimport org.junit.Test;\n\npublic class CalcTest {\n  @Test\n  public void adds() {\n    assertEquals(${variant === 'failing' ? 5 : 4}, Calc.add(2, 2));\n  }\n}\n`,
    '.gitignore': '/target\n',
  };
}

/** Writes `files` under a fresh directory below `parent`. */
export function writeProject(parent: string, name: string, files: ProjectFiles): string {
  const dir = path.join(parent, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

/** Versions the Python gate tools are pinned to in the tests' virtualenv. */
const PYTHON_TOOLS = ['pytest==9.2.0', 'ruff==0.17.6', 'mypy==2.4.1', 'coverage==7.17.5'];
const PYTHON_TOOLS_DIR = path.resolve(__dirname, '../../.tools/python-gate-tools');

/**
 * A virtualenv with pytest, ruff, mypy and coverage.py from PyPI, made once per checkout in
 * `.tools/` (kept out of git); returns its `bin` directory, to put first on a runner's PATH.
 */
export function pythonGateTools(): string {
  const marker = path.join(PYTHON_TOOLS_DIR, `.installed-${PYTHON_TOOLS.join('-')}`);
  const bin = path.join(PYTHON_TOOLS_DIR, 'bin');
  if (existsSync(marker)) return bin;
  rmSync(PYTHON_TOOLS_DIR, { recursive: true, force: true });
  execFileSync('python3', ['-m', 'venv', PYTHON_TOOLS_DIR], { stdio: 'pipe' });
  execFileSync(path.join(bin, 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...PYTHON_TOOLS], { stdio: 'pipe', timeout: 600_000 });
  writeFileSync(marker, '');
  return bin;
}

/**
 * What a worker host with a rustup toolchain must hand the gates: the local runner gives each
 * command a fresh HOME, where rustup's proxies would find no toolchain. A system-wide toolchain
 * (Debian's cargo) needs nothing.
 */
export function rustToolchainEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  const rustupHome = process.env.RUSTUP_HOME ?? path.join(os.homedir(), '.rustup');
  const cargoHome = process.env.CARGO_HOME ?? path.join(os.homedir(), '.cargo');
  if (existsSync(rustupHome)) env.RUSTUP_HOME = rustupHome;
  if (existsSync(cargoHome)) env.CARGO_HOME = cargoHome;
  return env;
}

/** The local runner in `dir` (HOME beside it), with `env` added to every command (as the host's setup would). */
export function runnerWithEnv(dir: string, env: Record<string, string>): CommandRunner {
  const local = new LocalRunner(dir, `${dir}.home`);
  return { workspaceDir: dir, run: (command, options) => local.run(command, { ...options, env: { ...options.env, ...env } }) };
}
