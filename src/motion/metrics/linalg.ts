/**
 * The little dense linear algebra FID needs, in float64: mean and covariance of a set of vectors and a
 * symmetric eigen-decomposition (cyclic Jacobi), which gives the square root of a symmetric PSD matrix.
 * Matrices are row-major Float64Arrays of n×n.
 */

export interface SymmetricEigen {
  /** Eigenvalues, in the order of the columns of `vectors` (not sorted). */
  values: Float64Array;
  /** Row-major n×n; column i is the unit eigenvector of values[i]. */
  vectors: Float64Array;
}

const MAX_SWEEPS = 100;

function offDiagonalSquares(a: Float64Array, n: number): number {
  let s = 0;
  for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) s += 2 * a[p * n + q] * a[p * n + q];
  return s;
}

function frobeniusSquares(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x * x;
  return s;
}

/**
 * Zeroes a[p][q] with the Jacobi rotation A ← JᵀAJ and accumulates Vᵀ ← JᵀVᵀ. A stays symmetric, so only
 * rows p and q are computed (contiguous memory) and mirrored into columns p and q; the three entries
 * the rotation is built for get their closed forms (Golub & Van Loan, Algorithm 8.5.1).
 */
function rotate(a: Float64Array, vt: Float64Array, n: number, p: number, q: number): void {
  const apq = a[p * n + q];
  const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
  // The smaller root of t² + 2θt − 1 = 0 keeps the rotation angle ≤ π/4, which makes Jacobi converge.
  const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  const rowP = p * n;
  const rowQ = q * n;
  for (let k = 0; k < n; k++) {
    if (k === p || k === q) continue;
    const apk = a[rowP + k];
    const aqk = a[rowQ + k];
    const np = c * apk - s * aqk;
    const nq = s * apk + c * aqk;
    a[rowP + k] = np;
    a[rowQ + k] = nq;
    a[k * n + p] = np;
    a[k * n + q] = nq;
  }
  a[rowP + p] -= t * apq;
  a[rowQ + q] += t * apq;
  a[rowP + q] = 0;
  a[rowQ + p] = 0;
  // vt holds Vᵀ, so eigenvector updates are row operations on contiguous memory too.
  for (let k = 0; k < n; k++) {
    const vkp = vt[rowP + k];
    const vkq = vt[rowQ + k];
    vt[rowP + k] = c * vkp - s * vkq;
    vt[rowQ + k] = s * vkp + c * vkq;
  }
}

/**
 * Eigen-decomposition of a symmetric n×n matrix by the cyclic Jacobi method (Golub & Van Loan,
 * "Matrix Computations", §8.5): sweep over all off-diagonal pairs, rotating each to zero, until the
 * off-diagonal mass is negligible relative to the whole matrix.
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): SymmetricEigen {
  if (matrix.length !== n * n)
    throw new Error(`symmetricEigen: expected ${n}×${n} = ${n * n} values, got ${matrix.length}`);
  const a = Float64Array.from(matrix);
  for (let p = 0; p < n; p++) {
    for (let q = p + 1; q < n; q++) {
      const x = a[p * n + q];
      const y = a[q * n + p];
      if (Math.abs(x - y) > 1e-9 * (Math.abs(x) + Math.abs(y) + 1e-300)) {
        throw new Error(`symmetricEigen: matrix is not symmetric at (${p}, ${q}): ${x} vs ${y}`);
      }
    }
  }
  const vt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) vt[i * n + i] = 1;
  const total = frobeniusSquares(a);
  // Eigenvalue errors are of order (off-diagonal mass)/gap, so 1e-24 of the total is far below float32 input noise.
  const tolerance = 1e-24 * total;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    if (offDiagonalSquares(a, n) <= tolerance) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        // Skipping entries that are already tiny next to both diagonal terms avoids useless rotations.
        const apq = Math.abs(a[p * n + q]);
        if (apq === 0 || (apq < 1e-18 * Math.abs(a[p * n + p]) && apq < 1e-18 * Math.abs(a[q * n + q]))) continue;
        rotate(a, vt, n, p, q);
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  const vectors = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) vectors[i * n + j] = vt[j * n + i];
  return { values, vectors };
}

/** V · diag(f(λ)) · Vᵀ, i.e. a function applied to a symmetric matrix through its eigenvalues. */
export function applyToEigenvalues(eig: SymmetricEigen, n: number, f: (lambda: number) => number): Float64Array {
  const fl = eig.values.map(f);
  const out = new Float64Array(n * n);
  const v = eig.vectors;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += v[i * n + k] * fl[k] * v[j * n + k];
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/**
 * Square root of a symmetric positive semi-definite matrix. Eigenvalues that round-off pushed slightly
 * below zero are clamped to zero (a covariance cannot have negative variance).
 */
export function sqrtSymmetricPsd(matrix: ArrayLike<number>, n: number): Float64Array {
  return applyToEigenvalues(symmetricEigen(matrix, n), n, (l) => Math.sqrt(Math.max(l, 0)));
}

/** Row-major product of two n×n matrices. */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}

export function trace(a: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i * n + i];
  return s;
}
