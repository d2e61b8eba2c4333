// `.ci/run` and the README agree (issue 12, finding 7): CI installs with exactly the README's install
// command and runs exactly its test command, the test command installs nothing again, and every README
// section `.ci/run` cites exists.
import { describe, expect, it } from 'vitest';
import { readText } from './deploy-files.js';

const readme = readText('README.md');
const ci = readText('.ci/run');

/** The shell commands of the first ```sh block under the heading `### title`. */
function commandsUnder(title: string): string[] {
  const section = readme.split(/^### /m).find((part) => part.startsWith(`${title}\n`));
  if (!section) throw new Error(`README has no "### ${title}" section`);
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error(`README "### ${title}" has no sh block`);
  return block[1]
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

const ciCommands = ci
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => /^npm /.test(line) && line !== 'npm --version');

describe('.ci/run and the README', () => {
  it('installs and tests with the README’s own commands, in its order', () => {
    const install = commandsUnder('Install');
    const test = commandsUnder('Run the tests');
    expect(install).toEqual(['npm ci']);
    expect(test).toEqual(['npm test']);
    expect(ciCommands).toEqual([...install, ...test]);
  });

  it('never installs again as part of the test or start command', () => {
    for (const command of [...commandsUnder('Run the tests'), ...commandsUnder('Start')])
      expect(command).not.toMatch(/npm (ci|install)\b/);
  });

  it('installs the Debian packages the README tells a user to install for the tests, and checks chromium is where tests look', () => {
    const section = readme.split(/^### /m).find((part) => part.startsWith('Run the tests\n'))!;
    const readmePackages = /`apt-get install ([a-z0-9 -]+)`/.exec(section)?.[1].split(' ');
    const ciPackages = [...ci.matchAll(/\|\| missing\+=\(([a-z0-9-]+)\)/g)].map((match) => match[1]);
    expect(readmePackages).toEqual(['prometheus', 'chromium']);
    expect(ciPackages).toEqual(readmePackages);
    expect(ci).toContain('"${missing[@]}"');
    // The browser tests' default executable (demo/headless-chromium.ts) is the one CI checks.
    expect(ci).toContain('/usr/bin/chromium --version');
    expect(readText('demo/headless-chromium.ts')).toContain("?? '/usr/bin/chromium'");
  });

  it('cites only README sections that exist', () => {
    const cited = [...ci.matchAll(/README, "([^"]+)"/g)].map((match) => match[1]);
    expect(cited.length).toBeGreaterThan(0);
    const headings = new Set([...readme.matchAll(/^#{2,3} (.+)$/gm)].map((match) => match[1].trim()));
    for (const title of cited) expect(headings, title).toContain(title);
  });
});
