/**
 * A helper thread of the solver's mat-vec (`symmetric_matvec.ts` starts it): binds its own kernel instance to each
 * matrix memory it is given and computes ranges of the product's outputs.
 *
 * @module
 */
import { serveRowTeam } from "../wasm/row_team.ts";
import { matVecRowWork } from "./symmetric_matvec.ts";

serveRowTeam(matVecRowWork);
