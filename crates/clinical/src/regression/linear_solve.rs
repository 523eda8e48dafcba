//! Solving the small symmetric positive-definite Newton systems of IRLS by Cholesky
//! factorisation (p ≤ a few dozen features, so a dependency is not warranted).

use super::ModelError;

/// Relative pivot below which the matrix is treated as singular.
const PIVOT_TOLERANCE: f64 = 1e-12;

/// Solves `a · x = b` for symmetric positive-definite `a` (row-major, n × n).
pub(crate) fn solve_spd(a: &[Vec<f64>], b: &[f64]) -> Result<Vec<f64>, ModelError> {
    let n = b.len();
    let scale = (0..n)
        .map(|i| get(a, i, i))
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(1.0);
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| get(&l, i, k) * get(&l, j, k)).sum();
            let value = get(a, i, j) - dot;
            let entry = if i == j {
                if value <= PIVOT_TOLERANCE * scale {
                    return Err(ModelError::Singular);
                }
                value.sqrt()
            } else {
                value / get(&l, j, j)
            };
            set(&mut l, i, j, entry);
        }
    }
    // forward: L y = b, then backward: Lᵀ x = y
    let mut y = vec![0.0; n];
    for i in 0..n {
        let dot: f64 = (0..i)
            .map(|k| get(&l, i, k) * y.get(k).copied().unwrap_or(0.0))
            .sum();
        let v = (b.get(i).copied().unwrap_or(0.0) - dot) / get(&l, i, i);
        if let Some(slot) = y.get_mut(i) {
            *slot = v;
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let dot: f64 = (i + 1..n)
            .map(|k| get(&l, k, i) * x.get(k).copied().unwrap_or(0.0))
            .sum();
        let v = (y.get(i).copied().unwrap_or(0.0) - dot) / get(&l, i, i);
        if let Some(slot) = x.get_mut(i) {
            *slot = v;
        }
    }
    Ok(x)
}

fn get(m: &[Vec<f64>], i: usize, j: usize) -> f64 {
    m.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0.0)
}

fn set(m: &mut [Vec<f64>], i: usize, j: usize, v: f64) {
    if let Some(slot) = m.get_mut(i).and_then(|r| r.get_mut(j)) {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_known_system() {
        let a = vec![vec![4.0, 2.0], vec![2.0, 3.0]];
        let x = solve_spd(&a, &[2.0, 1.0]).unwrap();
        // 4x + 2y = 2, 2x + 3y = 1 ⇒ x = 0.5, y = 0
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12);
    }

    #[test]
    fn singular_is_an_error() {
        let a = vec![vec![1.0, 1.0], vec![1.0, 1.0]];
        assert_eq!(solve_spd(&a, &[1.0, 1.0]), Err(ModelError::Singular));
    }
}
