/**
 * A helper thread of the matrix kernels (`matrix_team.ts` starts it): binds its own kernel instances to each
 * matrix memory it is given and computes its share of each job.
 *
 * @module
 */
import { serveRowTeam } from "./row_team.ts";
import { matrixRowWork } from "./matrix_team.ts";

serveRowTeam((memory, memoryOf) => matrixRowWork(memory, memoryOf));
