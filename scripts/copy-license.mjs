// `prepack` of every publishable package: npm and pnpm put a package's own LICENSE file in its
// tarball, and the licence text lives once, at the repository root. The copy is git-ignored.
import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

copyFileSync(fileURLToPath(new URL('../LICENSE', import.meta.url)), 'LICENSE');
