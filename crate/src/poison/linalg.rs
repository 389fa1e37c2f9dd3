//! Small dense linear algebra on the host for the detectors: principal directions by power
//! iteration, two-means clustering and the silhouette score. Rows are `width` values each.

use crate::runtime::rng::SplitMix64;

/// `rows` centred on their mean.
pub(crate) fn centred(rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let width = rows.first().map_or(0, Vec::len);
    let mut mean = vec![0.0; width];
    for r in rows {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += v;
        }
    }
    let n = rows.len().max(1) as f64;
    mean.iter_mut().for_each(|m| *m /= n);
    rows.iter()
        .map(|r| r.iter().zip(&mean).map(|(v, m)| v - m).collect())
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The covariance-like Gram matrix `XᵀX` of centred rows.
fn gram(rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let width = rows.first().map_or(0, Vec::len);
    let mut g = vec![vec![0.0; width]; width];
    for r in rows {
        for (g_row, &ri) in g.iter_mut().zip(r) {
            if ri != 0.0 {
                for (gij, &rj) in g_row.iter_mut().zip(r) {
                    *gij += ri * rj;
                }
            }
        }
    }
    g
}

/// The `k` leading eigenvectors of `XᵀX` for centred rows `X` (the principal directions), by
/// power iteration with deflation; deterministic in `seed`.
pub(crate) fn principal_directions(rows: &[Vec<f64>], k: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut g = gram(rows);
    let width = g.len();
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::new();
    for _ in 0..k.min(width) {
        let mut v: Vec<f64> = (0..width).map(|_| f64::from(rng.next_gaussian())).collect();
        let mut lambda = 0.0;
        for _ in 0..300 {
            let w: Vec<f64> = g.iter().map(|row| dot(row, &v)).collect();
            let norm = dot(&w, &w).sqrt();
            if norm == 0.0 {
                break;
            }
            let next: Vec<f64> = w.iter().map(|x| x / norm).collect();
            let change = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum::<f64>();
            v = next;
            lambda = norm;
            if change < 1e-10 {
                break;
            }
        }
        for i in 0..width {
            for j in 0..width {
                g[i][j] -= lambda * v[i] * v[j];
            }
        }
        out.push(v);
    }
    out
}

/// Each row's coordinates along `directions`.
pub(crate) fn project(rows: &[Vec<f64>], directions: &[Vec<f64>]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|r| directions.iter().map(|d| dot(r, d)).collect())
        .collect()
}

fn distance2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Two-means (Lloyd's algorithm from the farthest pair of a seeded sample): a cluster per row.
pub(crate) fn two_means(rows: &[Vec<f64>], seed: u64) -> Vec<usize> {
    if rows.len() < 2 {
        return vec![0; rows.len()];
    }
    // Start from a random row and the row farthest from it, then the row farthest from that.
    let first = SplitMix64::new(seed).below(rows.len());
    let far = |from: &[f64]| {
        (0..rows.len())
            .max_by(|&a, &b| distance2(&rows[a], from).total_cmp(&distance2(&rows[b], from)))
            .unwrap_or(0)
    };
    let a = far(&rows[first]);
    let b = far(&rows[a]);
    let mut centres = [rows[a].clone(), rows[b].clone()];
    let mut assign = vec![0usize; rows.len()];
    for _ in 0..100 {
        let mut moved = false;
        for (i, r) in rows.iter().enumerate() {
            let c = usize::from(distance2(r, &centres[1]) < distance2(r, &centres[0]));
            moved |= c != assign[i];
            assign[i] = c;
        }
        for (c, centre) in centres.iter_mut().enumerate() {
            let members: Vec<&Vec<f64>> = rows
                .iter()
                .zip(&assign)
                .filter(|(_, a)| **a == c)
                .map(|(r, _)| r)
                .collect();
            if members.is_empty() {
                continue;
            }
            for (k, x) in centre.iter_mut().enumerate() {
                *x = members.iter().map(|m| m[k]).sum::<f64>() / members.len() as f64;
            }
        }
        if !moved {
            break;
        }
    }
    assign
}

/// The mean silhouette of a two-cluster assignment over at most `sample` rows (seeded), in
/// [-1, 1]: near 1 for well-separated clusters, near 0 for one blob cut in two.
pub(crate) fn silhouette(rows: &[Vec<f64>], assign: &[usize], sample: usize, seed: u64) -> f64 {
    let mut indices: Vec<usize> = (0..rows.len()).collect();
    SplitMix64::new(seed).shuffle(&mut indices);
    indices.truncate(sample);
    let mut total = 0.0;
    let mut counted = 0;
    for &i in &indices {
        let mut sums = [0.0f64; 2];
        let mut counts = [0usize; 2];
        for &j in &indices {
            if i != j {
                sums[assign[j]] += distance2(&rows[i], &rows[j]).sqrt();
                counts[assign[j]] += 1;
            }
        }
        let own = assign[i];
        if counts[own] == 0 || counts[1 - own] == 0 {
            continue;
        }
        let a = sums[own] / counts[own] as f64;
        let b = sums[1 - own] / counts[1 - own] as f64;
        total += (b - a) / a.max(b).max(f64::MIN_POSITIVE);
        counted += 1;
    }
    if counted == 0 {
        0.0
    } else {
        total / counted as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_direction_of_a_stretched_cloud_is_its_long_axis() {
        let mut rng = SplitMix64::new(3);
        // x has spread 10, y spread 1, rotated by 30°.
        let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
        let rows: Vec<Vec<f64>> = (0..2000)
            .map(|_| {
                let (u, v) = (
                    10.0 * f64::from(rng.next_gaussian()),
                    f64::from(rng.next_gaussian()),
                );
                vec![c * u - s * v, s * u + c * v]
            })
            .collect();
        let d = principal_directions(&centred(&rows), 2, 1);
        assert!((d[0][0].abs() - c).abs() < 0.01 && (d[0][1].abs() - s).abs() < 0.01);
        assert!(dot(&d[0], &d[1]).abs() < 1e-6, "orthogonal");
    }

    #[test]
    fn two_means_separates_two_blobs_and_scores_them_well() {
        let mut rng = SplitMix64::new(5);
        let rows: Vec<Vec<f64>> = (0..300)
            .map(|i| {
                let centre = if i < 60 { 8.0 } else { 0.0 };
                vec![
                    centre + f64::from(rng.next_gaussian()),
                    f64::from(rng.next_gaussian()),
                ]
            })
            .collect();
        let assign = two_means(&rows, 2);
        let small = assign[0];
        assert!((0..60).all(|i| assign[i] == small));
        assert!((60..300).all(|i| assign[i] != small));
        assert!(silhouette(&rows, &assign, 300, 1) > 0.6);
        // One blob cut in two scores far lower.
        let blob: Vec<Vec<f64>> = rows[60..].to_vec();
        let cut = two_means(&blob, 2);
        assert!(silhouette(&blob, &cut, 300, 1) < 0.5);
    }
}
