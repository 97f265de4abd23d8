// `npm run lint`: fails when a folder under src/ imports a later stage.
import { importViolations } from './import-rules.ts';

const violations = importViolations(process.cwd());
for (const v of violations) console.error(v);
process.exitCode = violations.length > 0 ? 1 : 0;
