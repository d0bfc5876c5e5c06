/**
 * A helper thread of PAMR's row-parallel kernels (`pamr_simd.ts` starts it): binds its own kernel instances to the
 * shared memory and takes rows of each affinity and propagation job.
 *
 * @module
 */
import { serveRowTeam } from "../wasm/row_team.ts";
import { pamrRowWork } from "./pamr_simd.ts";

serveRowTeam((memory) => pamrRowWork(memory));
